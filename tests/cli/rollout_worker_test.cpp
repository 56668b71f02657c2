// `aha rollout-worker` processes and `aha train` over loopback HTTP: 3 GRPO steps sampled by two
// remote workers equal those sampled in process by two worker threads; a worker killed with
// SIGKILL mid-run leaves the run to the other; a trainer with the wrong token is refused.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/cli/run_command.hpp"
#include "tests/test_paths.hpp"

namespace {

const std::filesystem::path work = std::filesystem::temp_directory_path() /
                                   ("aha-remote-cli-" + std::to_string(::getpid()));

void make_fixture() {
  pretrain_tiny(work);
  std::ofstream(work / "token") << "s3cret\n";
  std::ofstream(work / "wrong-token") << "guess\n";
}

// An `aha rollout-worker` on a free loopback port; killed when it goes out of scope.
struct Worker {
  explicit Worker(const std::string& name) : log(work / (name + ".log")) {
    std::filesystem::remove(log);  // a previous worker's, whose address is no longer served
    pid = start_aha({"rollout-worker", "--listen", "127.0.0.1:0", "--token-file", (work / "token").string(), "--model",
                     (work / "qwen2_moe").string(), "--threads", "1"},
                    log);
    const std::regex serving("on (http://127\\.0\\.0\\.1:[0-9]+)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::smatch m;
    std::string text;
    while (!std::regex_search(text = read_file(log), m, serving) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(m.size() == 2);
    endpoint = m[1];
  }
  ~Worker() { kill(); }
  void kill() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  std::filesystem::path log;
  pid_t pid = -1;
  std::string endpoint;
};

std::vector<std::string> train_args(const std::filesystem::path& out, int steps,
                                    const std::vector<std::string>& endpoints,
                                    const std::string& token_file = "token") {
  std::string list = "[";
  for (const auto& e : endpoints) list += (list.size() > 1 ? ", \"" : "\"") + e + "\"";
  list += "]";
  return {"train", (source_dir() / "configs/zero-demo.toml").string(),
          "--set", "model.path=" + (work / "qwen2_moe").string(),
          "--set", "data.train=" + (work / "data/train.jsonl").string(),
          "--set", "data.eval=\"\"",
          "--set", "rollout.group_size=3",
          "--set", "rollout.prompts_per_step=4",
          "--set", "rollout.max_new_tokens=12",
          "--set", "rollout.workers=2",
          "--set", "rollout.endpoints=" + list,
          "--set", "rollout.token_file=" + (work / token_file).string(),
          "--set", "train.steps=" + std::to_string(steps),
          "--set", "train.save_every=0",
          "--set", "train.threads=1",
          "--set", "train.output_dir=" + out.string(),
          "--set", "log.progress=false",
          "--set", "log.tensorboard=false"};
}

// The numbers of every metrics line but the timings and the memory held.
std::vector<nlohmann::json> training_numbers(const std::filesystem::path& out) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto parsed = nlohmann::json::parse(line);
    nlohmann::json kept;
    for (const auto& [key, value] : parsed.items())
      if (!key.ends_with("_s") && key != "rollout_tokens_per_s" && key != "train_tokens_per_s" && key != "peak_rss_gb")
        kept[key] = value;
    lines.push_back(kept);
  }
  return lines;
}

}  // namespace

TEST_CASE("two remote rollout workers give the run that two in-process workers give, sampling ahead or not") {
  make_fixture();
  const std::string staleness = GENERATE("0", "1");
  INFO("rollout.max_staleness = " << staleness);
  Worker a("a"), b("b");
  for (const char* run : {"remote", "local"}) std::filesystem::remove_all(work / run);
  auto args = train_args(work / "remote", 3, {a.endpoint, b.endpoint});
  args.insert(args.end(), {"--set", "rollout.max_staleness=" + staleness});
  const auto remote = run_aha(args);
  INFO(remote.err);
  REQUIRE(remote.status == 0);
  args = train_args(work / "local", 3, {});
  args.insert(args.end(), {"--set", "rollout.max_staleness=" + staleness});
  const auto local = run_aha(args);
  REQUIRE(local.status == 0);
  const auto remote_lines = training_numbers(work / "remote"), local_lines = training_numbers(work / "local");
  REQUIRE(remote_lines.size() == 3);
  CHECK(remote_lines == local_lines);
}

TEST_CASE("a rollout worker killed mid-run leaves the run to the others") {
  make_fixture();
  Worker a("doomed"), b("survivor");
  const auto out = work / "survived";
  std::filesystem::remove_all(out);
  const pid_t trainer = start_aha(train_args(out, 8, {a.endpoint, b.endpoint}), work / "survived.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (read_file(out / "metrics.jsonl").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  a.kill();
  int status = 0;
  ::waitpid(trainer, &status, 0);
  INFO(read_file(work / "survived.log"));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(training_numbers(out).size() == 8);
  CHECK_THAT(read_file(work / "survived.log"), Catch::Contains(a.endpoint) && Catch::Contains("no longer used"));
}

TEST_CASE("a trainer with the wrong token is refused before any step") {
  make_fixture();
  Worker a("guarded");
  const auto out = work / "refused";
  std::filesystem::remove_all(out);
  const auto result = run_aha(train_args(out, 1, {a.endpoint}, "wrong-token"));
  CHECK(result.status == 1);
  CHECK_THAT(result.err, Catch::Contains("refused the token"));
  CHECK_FALSE(std::filesystem::exists(out / "metrics.jsonl"));
}
