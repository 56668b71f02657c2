// The code rule: program extraction, Python and C++ judges, the completion marker, and the
// HumanEval canonical solutions (pass) against their truncated bodies (fail).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "rewards/code_program.hpp"
#include "rewards/code_rule.hpp"
#include "rewards/reward_pipeline.hpp"
#include "tests/rewards/sandbox_test_lock.hpp"
#include "tests/test_paths.hpp"

using namespace aha::rewards;

namespace {

CompletionRecord program(std::string completion, std::string tests, std::string entry_point = "") {
  CompletionRecord r;
  r.completion = std::move(completion);
  r.tests = std::move(tests);
  if (!entry_point.empty()) r.entry_point = std::move(entry_point);
  return r;
}

CodeKeys quick_keys() {
  CodeKeys keys;
  keys.timeout_s = 5;
  keys.memory_mb = 512;
  return keys;
}

}  // namespace

TEST_CASE("the program is the last fenced block, or the whole completion") {
  const auto fenced = extract_program("try:\n```python\nx = 1\n```\nbetter:\n```cpp\nint f();\n```\n");
  CHECK(fenced.source == "int f();\n");
  CHECK(fenced.fence_language == CodeLanguage::cpp);
  const auto plain = extract_program("def f():\n    return 1\n");
  CHECK(plain.source == "def f():\n    return 1\n");
  CHECK_FALSE(plain.fence_language);
  CHECK_FALSE(extract_program("```\nx=1\n```").fence_language);
}

TEST_CASE("the marker counts only with the run's nonce, after the tests") {
  CHECK(read_marker("out\nN1 3 4\n", "N1")->passed == 3);
  CHECK_FALSE(read_marker("out\nN2 3 4\n", "N1"));
  CHECK_FALSE(read_marker("\nN1 5 4\n", "N1"));
}

TEST_CASE("Python: the share of asserts passed, or all or nothing") {
  const SandboxTestLock lock;
  const CodeRule rule(quick_keys());
  const auto half = rule.score(program("```python\ndef add(a, b):\n    return a + b\n```",
                                       "x = 2\nassert add(1, 1) == x\nassert add(1, 2) == 4\n"));
  CHECK(half.score == 0.5);
  CodeKeys strict = quick_keys();
  strict.scoring = CodeScoring::all_or_nothing;
  const std::string add = "def add(a, b):\n    return a + b\n";
  CHECK(CodeRule(strict).score(program(add, "assert add(1, 2) == 4\nassert add(1, 1) == 2\n")).score == 0.0);
  CHECK(CodeRule(strict).score(program(add, "assert add(1, 1) == 2\n")).score == 1.0);
  CHECK(rule.score(program("def add(a, b):\n    return a - b\n", "def check(f):\n    assert f(1, 1) == 2\n", "add"))
            .score == 0.0);
  CHECK(rule.score(program("syntax error here(", "assert True\n")).score == 0.0);
  CompletionRecord no_tests;
  no_tests.completion = "x = 1";
  CHECK_THROWS(rule.score(no_tests));
}

TEST_CASE("C++: the tests call the program's functions across the channel; AHA_CHECK counts tests") {
  const SandboxTestLock lock;
  const CodeRule rule(quick_keys());
  const auto partly = rule.score(program("```cpp\nint add(int a, int b) { return a + b; }\n```",
                                         "int main() { AHA_CHECK(add(1, 1) == 2); AHA_CHECK(add(2, 2) == 5); "
                                         "AHA_CHECK(add(0, 0) == 0); return 0; }\n"));
  CHECK(partly.score == Approx(2.0 / 3.0));
  CHECK(rule.score(program("```cpp\nint add(int a, int b) { return a - b; }\n```",
                           "#include <cassert>\nint main() { assert(add(1, 1) == 2); return 0; }\n"))
            .score == 0.0);
  CHECK(rule.score(program("```cpp\nnot c++\n```", "int main() { return 0; }\n")).score == 0.0);
}

namespace {

// Scores every HumanEval problem with the given program body; returns how many passed.
int humaneval_passes(bool truncate_last_line, int& problems) {
  const SandboxTestLock lock;
  std::ifstream in(data_dir() / "humaneval" / "HumanEval.jsonl");
  std::vector<CompletionRecord> batch;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto item = nlohmann::json::parse(line);
    std::string body = item.at("canonical_solution").get<std::string>();
    if (truncate_last_line) {
      while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.pop_back();
      body = body.substr(0, body.rfind('\n') + 1);
    }
    batch.push_back(program(item.at("prompt").get<std::string>() + body, item.at("test").get<std::string>(),
                            item.at("entry_point").get<std::string>()));
  }
  problems = static_cast<int>(batch.size());
  CodeKeys keys;
  keys.timeout_s = 20;
  keys.max_parallel = 4;
  const RewardPipeline pipeline({RewardSpec{"code", 1.0, 0.0, keys}}, 4);
  int passed = 0;
  for (const ScoreRecord& score : pipeline.score_batch(batch)) passed += score.total == 1.0 ? 1 : 0;
  CHECK(pipeline.error_counts()[0] == 0);
  return passed;
}

bool have_humaneval() {
  if (std::ifstream(data_dir() / "humaneval" / "HumanEval.jsonl")) return true;
  WARN("skipped: " << (data_dir() / "humaneval" / "HumanEval.jsonl").string()
                   << " is missing (set AHA_DATA_DIR to the folder holding humaneval/)");
  return false;
}

}  // namespace

TEST_CASE("HumanEval: all 164 canonical solutions pass in the sandbox") {
  if (!have_humaneval()) return;
  int problems = 0;
  CHECK(humaneval_passes(false, problems) == 164);
  CHECK(problems == 164);
}

TEST_CASE("HumanEval: with the last line of each body removed, at least 150 fail") {
  if (!have_humaneval()) return;
  int problems = 0;
  const int passed = humaneval_passes(true, problems);
  INFO(problems - passed << " of " << problems << " fail");
  CHECK(problems - passed >= 150);
}
