// `aha pretrain`, `aha train` and `aha eval` on the real binary with a tiny model: a run killed
// with SIGKILL mid-run resumes from its last checkpoint and ends with every step logged once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/cli/run_command.hpp"
#include "tests/test_paths.hpp"

namespace {

const std::filesystem::path work = std::filesystem::temp_directory_path() /
                                   ("aha-train-cli-" + std::to_string(::getpid()));

std::vector<std::string> train_args(const std::filesystem::path& out, int steps) {
  return {"train", (source_dir() / "configs/zero-demo.toml").string(),
          "--set", "model.path=" + (work / "qwen2_moe").string(),
          "--set", "data.train=" + (work / "data/train.jsonl").string(),
          "--set", "data.eval=" + (work / "data/eval.jsonl").string(),
          "--set", "rollout.group_size=2",
          "--set", "rollout.prompts_per_step=2",
          "--set", "rollout.max_new_tokens=6",
          "--set", "eval.samples=1",
          "--set", "train.steps=" + std::to_string(steps),
          "--set", "train.save_every=1",
          "--set", "train.eval_every=0",
          "--set", "train.threads=1",
          "--set", "train.output_dir=" + out.string(),
          "--set", "log.progress=false"};
}

std::vector<int64_t> logged_steps(const std::filesystem::path& out) {
  std::vector<int64_t> steps;
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) steps.push_back(nlohmann::json::parse(line)["step"].get<int64_t>());
  return steps;
}

}  // namespace

TEST_CASE("a run killed with SIGKILL resumes from its last checkpoint and logs every step once") {
  pretrain_tiny(work);
  const auto out = work / "killed";
  std::filesystem::remove_all(out);
  const auto args = train_args(out, 60);
  const pid_t child = start_aha(args, "/dev/null");
  REQUIRE(child > 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(out / "checkpoint-3") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(std::filesystem::exists(out / "checkpoint-3"));
  std::ifstream latest(out / "latest");
  std::string name;
  latest >> name;
  const int64_t saved = std::stoll(name.substr(std::string("checkpoint-").size()));
  CHECK(saved >= 3);

  auto resume = train_args(out, 60);
  resume.push_back("--resume");
  const auto result = run_aha(resume);
  INFO(result.err);
  REQUIRE(result.status == 0);
  CHECK_THAT(result.err, Catch::Contains("resuming from") && Catch::Contains(name));
  const auto steps = logged_steps(out);
  REQUIRE(steps.size() == 60);
  for (std::size_t i = 0; i < steps.size(); ++i) CHECK(steps[i] == static_cast<int64_t>(i + 1));
  CHECK(std::filesystem::exists(out / "eval_final.json"));
  CHECK(std::filesystem::exists(out / "curves.png"));
}

TEST_CASE("aha eval reports pass@1, pass@K and maj@K as JSON") {
  pretrain_tiny(work);
  const auto result =
      run_aha({"eval", "--model", (work / "qwen2_moe").string(), "--data", (work / "data/eval.jsonl").string(),
               "--samples", "3", "--max-new-tokens", "6", "--threads", "1"});
  INFO(result.err);
  REQUIRE(result.status == 0);
  const auto report = nlohmann::json::parse(result.out);
  for (const char* key : {"pass@1", "pass@3", "maj@3", "mean_length", "reflection_frequency"})
    CHECK(report.contains(key));
  CHECK(report["problems"] == 4);
  {  // MATH-style records: {problem, answer}
    std::ifstream in(work / "data/eval.jsonl");
    std::ofstream out(work / "problems.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto record = nlohmann::json::parse(line);
      out << nlohmann::json{{"problem", record["question"]}, {"answer", record["answer"]}}.dump() << "\n";
    }
  }
  const auto problems = run_aha({"eval", "--model", (work / "qwen2_moe").string(), "--data",
                                 (work / "problems.jsonl").string(), "--samples", "1", "--max-new-tokens", "4"});
  REQUIRE(problems.status == 0);
  CHECK(nlohmann::json::parse(problems.out)["problems"] == 4);
  const auto missing =
      run_aha({"eval", "--model", (work / "qwen2_moe").string(), "--data", (work / "missing.jsonl").string()});
  CHECK(missing.status == 1);
  CHECK_THAT(missing.err, Catch::Contains("missing.jsonl"));
}

TEST_CASE("aha train refuses an unknown key and a folder that holds a run") {
  pretrain_tiny(work);
  auto args = train_args(work / "typo", 1);
  args.insert(args.begin() + 2, {"--set", "optim.learning_rat=1e-3"});
  const auto typo = run_aha(args);
  CHECK(typo.status == 1);
  CHECK_THAT(typo.err, Catch::Contains("learning_rat"));
  const auto out = work / "twice";
  std::filesystem::remove_all(out);
  REQUIRE(run_aha(train_args(out, 1)).status == 0);
  const auto again = run_aha(train_args(out, 1));
  CHECK(again.status == 1);
  CHECK_THAT(again.err, Catch::Contains("already holds a run"));
}
