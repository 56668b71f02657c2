// `aha tokenize` and `aha logprobs` as a user runs them, against Hugging Face references.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "tests/cli/run_command.hpp"
#include "tests/test_paths.hpp"

namespace {

const std::string qwen3 = (data_dir() / "tokenizers/qwen3").string();

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

// `aha logprobs` on the fixture's text gives the ids and log-probs transformers gave.
void check_logprobs(const std::filesystem::path& folder, const nlohmann::json& expected) {
  const auto r = run_aha({"logprobs", "--model", folder.string(), "--text", expected["text"]});
  REQUIRE(r.status == 0);
  const auto out = nlohmann::json::parse(r.out);
  CHECK(out["ids"] == expected["ids"]);
  const auto ours = out["logprobs"].get<std::vector<double>>(),
             theirs = expected["logprobs"].get<std::vector<double>>();
  REQUIRE(ours.size() == theirs.size());
  for (std::size_t i = 0; i < ours.size(); ++i) CHECK(ours[i] == Approx(theirs[i]).margin(1e-4));
}

}  // namespace

TEST_CASE("aha tokenize prints the ids tokenizers gives, and decodes them back") {
  if (!std::filesystem::exists(qwen3)) {
    WARN("skipped: " << qwen3 << " is missing (set AHA_DATA_DIR)");
    return;
  }
  const auto encoded = run_aha({"tokenize", "--tokenizer", qwen3, "--text", "Hello, 世界 <think>"});
  CHECK(encoded.status == 0);
  CHECK(encoded.out == "[9707,11,220,99489,220,151667]\n");  // tokenizers 0.23.3
  const auto decoded = run_aha({"tokenize", "--tokenizer", qwen3, "--decode", "--ids", "9707,11,220,99489,220,151667"});
  CHECK(decoded.out == "Hello, 世界 <think>\n");
  const auto input = write_temp("tok.jsonl", "{\"text\": \"Hello\"}\n{\"text\": \"<|im_start|>\"}\n");
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3, "--input", input}).out == "[9707]\n[151644]\n");
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3, "--text", ""}).out == "[]\n");
  const auto cut = run_aha({"tokenize", "--tokenizer", qwen3, "--decode", "--ids", "99489,151645,172,253"});
  CHECK(cut.status == 0);
  CHECK(cut.out == "世界<|im_end|>\ufffd\n");  // tokenizers: a cut character decodes to U+FFFD
}

TEST_CASE("aha tokenize reports bad input with its line, and bad usage with status 2") {
  if (!std::filesystem::exists(qwen3)) {
    WARN("skipped: " << qwen3 << " is missing");
    return;
  }
  const auto input = write_temp("bad.jsonl", "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  const auto bad_line = run_aha({"tokenize", "--tokenizer", qwen3, "--input", input});
  CHECK(bad_line.status == 1);
  CHECK_THAT(bad_line.err, Catch::Contains(input + ":2: expected a JSON object with a string \"text\""));
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3}).status == 2);
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3, "--text", "a", "--decode"}).status == 2);
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3, "--decode", "--ids", "1,x"}).status == 2);
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3, "--decode"}).status == 2);
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3, "--text", "a", "--ids", "1"}).status == 2);
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3, "--text", "a", "--input", input}).status == 2);
  const auto malformed = write_temp("malformed.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\n");
  const auto third_line = run_aha({"tokenize", "--tokenizer", qwen3, "--input", malformed});
  CHECK(third_line.status == 1);
  CHECK(third_line.out == "[64]\n[65]\n");
  CHECK_THAT(third_line.err, Catch::Contains(malformed + ":3: expected a JSON object"));
  CHECK(run_aha({"tokenize", "--tokenizer", qwen3, "--input", "no/such.jsonl"}).status == 1);
  const auto missing = run_aha({"tokenize", "--tokenizer", "no/such/folder", "--text", "a"});
  CHECK(missing.status == 1);
  CHECK_THAT(missing.err, Catch::Contains("no/such/folder: no such file or folder"));
}

TEST_CASE("aha logprobs equals transformers on a tiny checkpoint with its tokenizer") {
  const auto folder = source_dir() / "tests/fixtures/models/tiny_with_tokenizer";
  const auto expected = nlohmann::json::parse(std::ifstream(folder / "expected.json"));
  check_logprobs(folder, expected);
  const auto missing = run_aha({"logprobs", "--model", "no/such/model", "--text", "hi there"});
  CHECK(missing.status == 1);
  CHECK_THAT(missing.err, Catch::Contains("no/such/model"));
}

TEST_CASE("a checkpoint padded past its tokenizer: logprobs over the tokenizer's ids as transformers, eval and distill "
          "sample none of the padding") {
  const auto folder = source_dir() / "tests/fixtures/models/padded_vocab";
  const auto expected = nlohmann::json::parse(std::ifstream(folder / "expected.json"));
  REQUIRE(expected["padded_argmax"].get<int>() > 0);  // unmasked, the padded rows would be drawn
  check_logprobs(folder, expected);

  // A padded id would fail to decode: both commands sample and decode 2 x 4 completions.
  const auto dir = std::filesystem::temp_directory_path() / ("aha-padded-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "problems.jsonl")
      << R"({"question": "Tom has 3 apples and gets 4 more. How many?", "answer": "7"})"
      << "\n"
      << R"({"question": "What is 12 + 5?", "answer": "17"})"
      << "\n";
  const auto eval = run_aha({"eval", "--model", folder.string(), "--data", (dir / "problems.jsonl").string(),
                             "--samples", "4", "--max-new-tokens", "12"});
  CHECK(eval.status == 0);
  CHECK_THAT(eval.out, Catch::Contains("pass@1"));
  const auto distill = run_aha({"distill", "--teacher", folder.string(), "--data", (dir / "problems.jsonl").string(),
                                "--samples", "4", "--max-new-tokens", "12", "--out", (dir / "traces.jsonl").string()});
  CHECK(distill.status == 0);
  std::filesystem::remove_all(dir);
}
