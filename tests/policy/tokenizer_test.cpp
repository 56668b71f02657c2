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
  const auto fixture_path = source_dir() / "tests/fixtures/tokenizer/qwen3_ids.jsonl";
  if (!std::filesystem::exists(qwen3 / "tokenizer.json") || !std::filesystem::exists(fixture_path)) {
    WARN("skipped: " << qwen3 << " or " << fixture_path << " is missing (set AHA_DATA_DIR)");
    return;
  }
  std::ifstream fixture(fixture_path);
  int texts = 0, mismatched = 0, not_restored = 0, decodes = 0, misdecoded = 0;
  for (std::string line; std::getline(fixture, line);) {
    const auto entry = nlohmann::json::parse(line);
    if (entry.contains("decode")) {
      ++decodes;
      const std::string decoded = qwen3_tokenizer().decode(entry["decode"].get<std::vector<int64_t>>());
      if (decoded != entry["text"].get<std::string>() && ++misdecoded <= 5)
        FAIL_CHECK("decode differs for " << entry["decode"].dump() << ": " << decoded);
      continue;
    }
    const std::string text = text_of(entry);
    const auto ids = qwen3_tokenizer().encode(text);
    ++texts;
    if (ids != entry["ids"].get<std::vector<int64_t>>()) {
      if (++mismatched <= 5)
        FAIL_CHECK("ids differ for: " << text.substr(0, 200) << "\nours: " << nlohmann::json(ids).dump());
    }
    if (qwen3_tokenizer().decode(ids) != aha::policy::nfc(text) && ++not_restored <= 5)
      FAIL_CHECK("decode(encode(x)) != x for: " << text.substr(0, 200));
  }
  CHECK(texts >= 2000);
  CHECK(mismatched == 0);
  CHECK(not_restored == 0);
  CHECK(decodes >= 40);
  CHECK(misdecoded == 0);
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
  CHECK(nfc("\u212b") == "\u00c5");                     // a singleton decomposition
  CHECK(nfc("a\u0323\u0302") == nfc("a\u0302\u0323"));  // marks in canonical order
  CHECK(nfc("\u1100\u1161\u11a8") == "\uac01");         // Hangul syllable
  CHECK(nfc("\ufb01") == "\ufb01");                     // compatibility forms stay
  CHECK(nfc("plain ascii") == "plain ascii");
  CHECK(nfc(std::string("\xff", 1)) == "\ufffd");  // invalid UTF-8
}

TEST_CASE("malformed or unsupported tokenizer files are errors naming the file and the JSON path") {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-tok-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "tokenizer.json").string();
  CHECK_THROWS_WITH(Tokenizer::from_file(dir / "missing"), Catch::Contains("missing: no such file or folder"));
  CHECK_THROWS_WITH(Tokenizer::from_file(dir), Catch::Contains(file + ": cannot read the file"));
  std::ofstream(file) << "{not json";
  CHECK_THROWS_WITH(Tokenizer::from_file(dir), Catch::Contains(file + ": malformed JSON"));

  const auto valid = nlohmann::json::parse(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []},
                                               "decoder": {"type": "ByteLevel"}})");
  const auto error_of = [&](const std::string& patch) {
    std::ofstream(file, std::ios::trunc) << nlohmann::json(valid).patch(nlohmann::json::parse(patch)).dump();
    try {
      Tokenizer::from_file(file);
    } catch (const aha::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::vector<std::pair<std::string, std::string>> cases{
      {R"([{"op": "replace", "path": "/model/type", "value": "WordPiece"}])",
       ": model.type: \"WordPiece\" is not supported"},
      {R"([{"op": "remove", "path": "/model/vocab"}])", ": model.vocab: missing"},
      {R"([{"op": "replace", "path": "/model/vocab/a", "value": "zero"}])",
       ": model.vocab[\"a\"]: expected an integer"},
      {R"([{"op": "add", "path": "/model/merges", "value": ["a b", 3]}])",
       ": model.merges[1]: expected \"left right\""},
      {R"([{"op": "add", "path": "/model/dropout", "value": 0.1}])", ": model.dropout: BPE dropout is not supported"},
      {R"([{"op": "add", "path": "/model/vocab/ab", "value": 2}, {"op": "add", "path": "/model/merges", "value": ["a b", "b c"]}])",
       ": model.merges[1]: \"c\" is not in the vocabulary"},
      {R"([{"op": "add", "path": "/normalizer", "value": {"type": "NFKC"}}])",
       ": normalizer.type: normalizer \"NFKC\""},
      {R"([{"op": "add", "path": "/pre_tokenizer", "value": {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"}, {"type": "Metaspace"}]}}])",
       ": pre_tokenizer.pretokenizers[1].type: pre-tokenizer \"Metaspace\" is not supported"},
      {R"([{"op": "add", "path": "/pre_tokenizer", "value": {"type": "Split", "pattern": {"Regex": "(["}, "behavior": "Isolated"}}])",
       ": pre_tokenizer.pattern: pre-tokenizer regex does not compile"},
      {R"([{"op": "add", "path": "/pre_tokenizer", "value": {"type": "Split", "pattern": {"String": "x"}, "behavior": "Sideways"}}])",
       ": pre_tokenizer.behavior: behavior \"Sideways\" is unknown"},
      {R"([{"op": "add", "path": "/added_tokens", "value": [{"content": "<s>"}]}])", ": added_tokens[0].id: missing"},
      {R"([{"op": "replace", "path": "/decoder", "value": {"type": "WordPiece"}}])",
       ": decoder.type: \"WordPiece\" is not supported"},
      {R"([{"op": "remove", "path": "/decoder"}])", ": decoder: missing"},
  };
  for (const auto& [patch, message] : cases) {
    INFO(patch);
    CHECK_THAT(error_of(patch), Catch::StartsWith(file) && Catch::Contains(message));
  }
  std::ofstream(file, std::ios::trunc) << valid.dump();
  std::ofstream(dir / "tokenizer_config.json") << R"({"eos_token": {"content": "<eos>"}})";
  CHECK_THROWS_WITH(Tokenizer::from_file(dir),
                    Catch::Contains("tokenizer_config.json: eos_token: \"<eos>\" is not a token of tokenizer.json"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("long runs of one character encode in one pass and decode back") {
  if (!std::filesystem::exists(qwen3 / "tokenizer.json")) {
    WARN("skipped: " << qwen3 << " is missing");
    return;
  }
  const auto repeat = [](const std::string& unit, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += unit;
    return out;
  };
  for (const std::string& text : {repeat("a", 100000), repeat(" ", 100000), repeat("7", 20000), repeat("\r\n", 50000),
                                  repeat("字", 30000), repeat("ab ", 30000) + repeat("\t", 1000)}) {
    const auto ids = qwen3_tokenizer().encode(text);
    CHECK(qwen3_tokenizer().decode(ids) == text);
  }
}

TEST_CASE("Split behaviors, literal patterns, ByteLevel's regex, merge pairs and added tokens match tokenizers") {
  const auto fixtures = source_dir() / "tests/fixtures";
  const auto tiny = nlohmann::json::parse(std::ifstream(fixtures / "models/tiny_with_tokenizer/tokenizer.json"));
  const auto dir = std::filesystem::temp_directory_path() / ("aha-tok-variant-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int cases = 0;
  for (const auto& variant : nlohmann::json::parse(std::ifstream(fixtures / "tokenizer/variants.json"))) {
    auto spec = tiny;
    for (const auto& [key, value] : variant["patch"].items()) spec[key] = value;
    if (spec.contains("merges_as_pairs")) {
      spec.erase("merges_as_pairs");
      for (auto& merge : spec["model"]["merges"]) {
        const auto text = merge.get<std::string>();
        merge = {text.substr(0, text.find(' ')), text.substr(text.find(' ') + 1)};
      }
    }
    std::ofstream(dir / "tokenizer.json", std::ios::trunc) << spec.dump();
    const Tokenizer tokenizer = Tokenizer::from_file(dir);
    for (const auto& entry : variant["cases"]) {
      INFO(variant["name"].get<std::string>() << ": " << entry["text"].get<std::string>());
      CHECK(tokenizer.encode(entry["text"].get<std::string>()) == entry["ids"].get<std::vector<int64_t>>());
      ++cases;
    }
  }
  CHECK(cases >= 100);
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

TEST_CASE("the fingerprint names the vocabulary and rules, not the file's formatting") {
  const auto demo = source_dir() / "configs/zero-demo/tokenizer.json";
  const auto copy = std::filesystem::temp_directory_path() / ("aha-fingerprint-" + std::to_string(::getpid()));
  std::filesystem::create_directories(copy);
  auto json = nlohmann::json::parse(std::ifstream(demo));
  std::ofstream(copy / "tokenizer.json", std::ios::trunc) << json.dump(4);
  const std::string original = Tokenizer::from_file(demo).fingerprint();
  CHECK(original.size() == 16);
  CHECK(Tokenizer::from_file(copy).fingerprint() == original);
  json["added_tokens"][0]["content"] = "<|renamed|>";
  std::ofstream(copy / "tokenizer.json", std::ios::trunc) << json.dump();
  CHECK(Tokenizer::from_file(copy).fingerprint() != original);
  CHECK(Tokenizer::from_file(source_dir() / "tests/fixtures/models/tiny_with_tokenizer").fingerprint() != original);
  std::filesystem::remove_all(copy);
}
