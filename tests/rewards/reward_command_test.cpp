// `aha reward` as a user runs it: JSON lines out in input order, malformed lines reported with
// their number, rule failures counted, usage errors exit 2.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "tests/cli/run_command.hpp"
#include "tests/rewards/sandbox_test_lock.hpp"
#include "tests/test_paths.hpp"

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

const std::string config_text =
    "[model]\npath = \"m\"\n\n[[reward]]\nrule = \"math\"\n\n[[reward]]\nrule = \"format\"\nweight = 0.5\n\n"
    "[[reward]]\nrule = \"reflection\"\n\n[[reward]]\nrule = \"code\"\nname = \"tests\"\ntimeout_s = 5.0\n";

}  // namespace

TEST_CASE("aha reward prints one JSON line per input, in order, and marks malformed lines") {
  const auto config = write_temp("reward.toml", config_text);
  const auto input = write_temp(
      "reward.jsonl",
      "{\"completion\": \"<think>wait, 6*7</think> <answer>42</answer>\", \"answer\": \"#### 42\"}\n"
      "{\"completion\": \"no answer here\", \"answer\": \"42\"}\n"
      "{not json\n"
      "\n"
      "{\"completion\": \"```python\\ndef f(x):\\n    return x + 1\\n```\", \"tests\": \"assert f(1) == 2\\n\"}\n"
      "{\"answer\": \"1\"}\n");
  const SandboxTestLock lock;
  const auto r = run_aha({"reward", "--config", config, "--input", input});
  CHECK(r.status == 1);
  const auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0]["total"] == 1.5);
  CHECK(lines[0]["rules"]["math"] == 1.0);
  CHECK(lines[0]["rules"]["format"] == 1.0);
  CHECK(lines[0]["flags"]["reflection_count"] == 1);
  CHECK(lines[0]["flags"]["answer_found"] == true);
  CHECK(lines[0]["rules"]["tests"] == 0.0);
  CHECK(lines[0]["errors"].contains("tests"));
  CHECK(lines[1]["rules"]["math"] == 0.0);
  CHECK(lines[1]["flags"]["answer_found"] == false);
  CHECK_THAT(lines[2]["error"].get<std::string>(), Catch::Contains(input + ":3: not valid JSON"));
  CHECK(lines[3]["rules"]["tests"] == 1.0);
  CHECK(lines[3]["errors"].contains("math"));
  CHECK_THAT(lines[4]["error"].get<std::string>(), Catch::Contains(":6: missing \"completion\""));
  CHECK_THAT(r.err, Catch::Contains(input + ":3:") && Catch::Contains("reward \"math\" failed on 1 of 3"));
}

TEST_CASE("aha reward exits 0 when every line is well formed") {
  const auto config = write_temp("reward-ok.toml", "[[reward]]\nrule = \"math\"\n");
  const auto input =
      write_temp("reward-ok.jsonl", "{\"completion\": \"\\\\boxed{\\\\frac{1}{2}}\", \"answer\": \"0.5\"}\n");
  const auto r = run_aha({"reward", "--config", config, "--input", input});
  CHECK(r.status == 0);
  CHECK(r.out == "{\"total\":1.0,\"rules\":{\"math\":1.0},\"flags\":{\"answer_found\":true,\"correct\":true}}\n");
  CHECK(r.err.empty());
}

TEST_CASE("aha reward: config problems exit 1, usage errors exit 2") {
  const auto input = write_temp("reward-any.jsonl", "{\"completion\": \"x\"}\n");
  const auto bad = write_temp("reward-bad.toml", "[[reward]]\nrule = \"regex\"\n");
  const auto missing_pattern = run_aha({"reward", "--config", bad, "--input", input});
  CHECK(missing_pattern.status == 1);
  CHECK_THAT(missing_pattern.err, Catch::Contains("pattern"));
  const auto no_input = run_aha({"reward", "--config", bad, "--input", "does-not-exist.jsonl"});
  CHECK(no_input.status == 1);
  CHECK(run_aha({"reward", "--config", bad}).status == 2);
  CHECK(run_aha({"reward"}).status == 2);
}
