// Data parallelism on the real binary: `aha train --nproc 2` (two processes over loopback, Gloo)
// gives the loss and the weights of one process with the same global batch after 3 steps, also
// while sampling ahead (its collectives on a group of their own); a rank
// killed mid-run ends the run with a message naming it, and --resume finishes it.
#include <ATen/ATen.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "policy/checkpoint.hpp"
#include "policy/tokenizer.hpp"
#include "rl/pretrain_config.hpp"
#include "tests/cli/run_command.hpp"
#include "tests/rl/tiny_models.hpp"
#include "tests/test_paths.hpp"

using namespace aha;

namespace {

const std::filesystem::path work = std::filesystem::temp_directory_path() / ("aha-dp-" + std::to_string(::getpid()));

void make_fixture() {
  if (std::filesystem::exists(work / "model/config.json")) return;
  save_tiny_demo_model(work / "model", rl::BaseArchitecture::qwen2_moe, 3);
  write_arithmetic_problems(work / "train.jsonl", 5, 64);
}

std::vector<std::string> train_args(const std::filesystem::path& out, int steps, int workers) {
  return {"train", (source_dir() / "configs/zero-demo.toml").string(),
          "--set", "model.path=" + (work / "model").string(),
          "--set", "data.train=" + (work / "train.jsonl").string(),
          "--set", "data.eval=\"\"",
          "--set", "rollout.group_size=4",
          "--set", "rollout.prompts_per_step=4",
          "--set", "rollout.max_new_tokens=10",
          "--set", "rollout.temperature=1.5",
          "--set", "rollout.workers=" + std::to_string(workers),
          "--set", "optim.lr=1e-2",
          "--set", "train.steps=" + std::to_string(steps),
          "--set", "train.micro_batch_tokens=200",
          "--set", "train.save_every=1",
          "--set", "train.threads=1",
          "--set", "train.output_dir=" + out.string(),
          "--set", "log.progress=false",
          "--set", "log.tensorboard=false"};
}

std::vector<nlohmann::json> metrics(const std::filesystem::path& out) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("two data-parallel processes give one process's loss and weights after 3 steps, sampling ahead or not") {
  make_fixture();
  const int staleness = GENERATE(0, 1);
  INFO("rollout.max_staleness = " << staleness);
  for (const char* run : {"one", "two"}) std::filesystem::remove_all(work / run);
  auto args = train_args(work / "one", 3, 2);
  args.insert(args.end(), {"--set", "rollout.max_staleness=" + std::to_string(staleness)});
  const auto one = run_aha(args);
  INFO(one.err);
  REQUIRE(one.status == 0);
  args = train_args(work / "two", 3, 1);
  args.insert(args.end(), {"--set", "rollout.max_staleness=" + std::to_string(staleness), "--nproc", "2"});
  const auto two = run_aha(args);
  INFO(two.err);
  REQUIRE(two.status == 0);
  CHECK_THAT(two.err, Catch::Contains("2 data-parallel processes"));
  const auto a = metrics(work / "one"), b = metrics(work / "two");
  REQUIRE(a.size() == 3);
  REQUIRE(b.size() == 3);
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("step " << i + 1);
    CHECK(b[i]["reward_mean"] == a[i]["reward_mean"]);  // the same completions
    CHECK(b[i]["completion_length_mean"] == a[i]["completion_length_mean"]);
    CHECK(b[i]["staleness"] == a[i]["staleness"]);
    CHECK(b[i]["loss"].get<double>() == Approx(a[i]["loss"].get<double>()).epsilon(1e-5).margin(1e-7));
    CHECK(b[i]["grad_norm"].get<double>() == Approx(a[i]["grad_norm"].get<double>()).epsilon(1e-5));
  }
  const auto x = policy::CheckpointTensors::open(work / "one/final"),
             y = policy::CheckpointTensors::open(work / "two/final");
  for (const auto& name : x.names()) {
    INFO(name);
    CHECK(at::allclose(x.tensor(name), y.tensor(name), 1e-5, 1e-5));
  }
}

TEST_CASE("a data-parallel rank that dies ends the run naming it, and --resume finishes the run") {
  make_fixture();
  const auto out = work / "killed";
  std::filesystem::remove_all(out);
  auto args = train_args(out, 40, 1);
  args.insert(args.end(), {"--nproc", "2"});
  const pid_t launcher = start_aha(args, work / "killed.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(out / "checkpoint-2") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  pid_t rank = -1;  // a child of the launcher
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string pid, name, state, parent;
    if (stat >> pid >> name >> state >> parent && parent == std::to_string(launcher)) rank = std::stoi(pid);
  }
  REQUIRE(rank > 0);
  ::kill(rank, SIGKILL);
  int status = 0;
  ::waitpid(launcher, &status, 0);
  const std::string log = read_file(work / "killed.log");
  INFO(log);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK_THAT(log, Catch::Contains("was killed by signal 9") && Catch::Contains("--resume"));
  args.push_back("--resume");
  const auto resumed = run_aha(args);
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  const auto lines = metrics(out);
  REQUIRE(lines.size() == 40);
  for (std::size_t i = 0; i < lines.size(); ++i) CHECK(lines[i]["step"] == static_cast<int>(i + 1));
}
