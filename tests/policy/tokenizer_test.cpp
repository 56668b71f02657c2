// The tokenizer against Hugging Face tokenizers on the real Qwen3 tokenizer.json (fixture from
// tests/policy/make_tokenizer_fixture.py): every GSM8K test question and answer, every HumanEval
// prompt and solution, and hand-picked texts; decode(encode(x)) == x; and malformed files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "policy/tokenizer.hpp"
#include "policy/unicode_nfc.hpp"
#include "tests/test_paths.hpp"

using aha::policy::Tokenizer;

namespace {

const auto qwen3 = data_dir() / "tokenizers/qwen3";

const Tokenizer& qwen3_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::from_file(qwen3);
  return tokenizer;
}

// The text a fixture line stands for: inline, or a field of a line of a shared data file.
std::string text_of(const nlohmann::json& entry) {
  if (entry.contains("text")) return entry["text"];
  static std::map<std::string, std::vector<std::string>> files;
  auto& lines = files[entry["file"]];
  if (lines.empty()) {
    std::ifstream in(data_dir() / entry["file"].get<std::string>());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  return nlohmann::json::parse(lines.at(entry["line"].get<std::size_t>() - 1))[entry["field"].get<std::string>()];
}

}  // namespace

TEST_CASE("token ids equal Hugging Face tokenizers' on 3,000 texts, and decoding restores each text") {
  if (!std::filesystem::exists(qwen3 / "tokenizer.json")) {
    WARN("skipped: " << qwen3 << " is missing (set AHA_DATA_DIR)");
    return;
  }
  std::ifstream fixture(source_dir() / "tests/fixtures/tokenizer/qwen3_ids.jsonl");
  int texts = 0, mismatched = 0, not_restored = 0;
  for (std::string line; std::getline(fixture, line);) {
    const auto entry = nlohmann::json::parse(line);
    const std::string text = text_of(entry);
    const auto ids = qwen3_tokenizer().encode(text);
    ++texts;
    if (ids != entry["ids"].get<std::vector<int64_t>>()) {
      if (++mismatched <= 5) FAIL_CHECK("ids differ for: " << text.substr(0, 200));
    }
    if (qwen3_tokenizer().decode(ids) != aha::policy::nfc(text) && ++not_restored <= 5)
      FAIL_CHECK("decode(encode(x)) != x for: " << text.substr(0, 200));
  }
  CHECK(texts >= 2000);
  CHECK(mismatched == 0);
  CHECK(not_restored == 0);
}

TEST_CASE("special tokens and the EOS and padding of tokenizer_config.json") {
  if (!std::filesystem::exists(qwen3 / "tokenizer.json")) {
    WARN("skipped: " << qwen3 << " is missing");
    return;
  }
  const Tokenizer& t = qwen3_tokenizer();
  CHECK(t.token_to_id("<|im_start|>") == 151644);
  CHECK(t.id_to_token(151644) == "<|im_start|>");
  CHECK(t.vocab_size() == 151669);
  CHECK(t.eos_id() == t.token_to_id("<|im_end|>"));
  CHECK(t.pad_id() == t.token_to_id("<|endoftext|>"));
  CHECK_THROWS_WITH(t.decode(std::vector<int64_t>{-1}), Catch::Contains("outside the vocabulary"));
}

TEST_CASE("NFC composes, reorders marks and leaves composed text alone") {
  using aha::policy::nfc;
  CHECK(nfc("e\u0301") == "\u00e9");
  CHECK(nfc("\u212b") == "\u00c5");                      // a singleton decomposition
  CHECK(nfc("a\u0323\u0302") == nfc("a\u0302\u0323"));   // marks in canonical order
  CHECK(nfc("\u1100\u1161\u11a8") == "\uac01");          // Hangul syllable
  CHECK(nfc("\ufb01") == "\ufb01");                      // compatibility forms stay
  CHECK(nfc("plain ascii") == "plain ascii");
  CHECK(nfc(std::string("\xff", 1)) == "\ufffd");        // invalid UTF-8
}

TEST_CASE("malformed or unsupported tokenizer files are errors naming the file") {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-tok-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  CHECK_THROWS_WITH(Tokenizer::from_file(dir), Catch::Contains("tokenizer.json: cannot read the tokenizer"));
  std::ofstream(dir / "tokenizer.json") << "{not json";
  CHECK_THROWS_WITH(Tokenizer::from_file(dir), Catch::Contains("malformed JSON"));
  std::ofstream(dir / "tokenizer.json", std::ios::trunc) << R"({"model": {"type": "WordPiece"}})";
  CHECK_THROWS_WITH(Tokenizer::from_file(dir), Catch::Contains("model.type \"WordPiece\" is not supported"));
  std::ofstream(dir / "tokenizer.json", std::ios::trunc)
      << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Metaspace"}})";
  CHECK_THROWS_WITH(Tokenizer::from_file(dir), Catch::Contains("pre_tokenizer: pre-tokenizer type \"Metaspace\""));
  std::ofstream(dir / "tokenizer.json", std::ios::trunc)
      << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(["}}})";
  CHECK_THROWS_WITH(Tokenizer::from_file(dir), Catch::Contains("does not compile"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("ignore_merges and the lstrip, rstrip and single_word flags of added tokens match tokenizers") {
  const auto folder = source_dir() / "tests/fixtures/tokenizer/flags";
  const Tokenizer tokenizer = Tokenizer::from_file(folder);
  for (const auto& entry : nlohmann::json::parse(std::ifstream(folder / "expected.json"))) {
    INFO(entry["text"].get<std::string>());
    CHECK(tokenizer.encode(entry["text"].get<std::string>()) == entry["ids"].get<std::vector<int64_t>>());
  }
}
