// `aha train` with its output folder on a tmpfs too small for the run (mounted by bubblewrap in a
// namespace of its own): the run ends with a clear error naming the path and the free space,
// `latest` names a complete checkpoint or none, and a restart without --resume is refused
// instead of overwriting metrics.jsonl. Skipped with a message where bubblewrap cannot mount.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/test_paths.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path work = fs::temp_directory_path() / ("aha-full-disk-" + std::to_string(::getpid()));

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// The train command for a run in `out`, as one shell line.
std::string train_line(const fs::path& model, const fs::path& out) {
  std::string line = quoted(aha_binary().string()) + " train " +
                     quoted((source_dir() / "configs/zero-demo.toml").string());
  for (const std::string& set :
       {"model.path=" + model.string(), "data.train=" + (model.parent_path() / "data/train.jsonl").string(),
        "data.eval=" + (model.parent_path() / "data/eval.jsonl").string(), std::string("rollout.group_size=2"),
        std::string("rollout.prompts_per_step=2"), std::string("rollout.max_new_tokens=6"),
        std::string("eval.samples=1"), std::string("train.steps=6"), std::string("train.save_every=2"),
        std::string("train.eval_every=0"), std::string("train.threads=1"), "train.output_dir=" + out.string(),
        std::string("log.progress=false")})
    line += " --set " + quoted(set);
  return line;
}

bool bubblewrap_can_mount() {
  return std::system("bwrap --dev-bind / / --tmpfs /mnt -- /bin/true >/dev/null 2>&1") == 0;
}

struct FullDiskRun {
  int first_status = -1, second_status = -1;
  std::string first_log, second_log;
  fs::path after;  // a copy of the run folder after the first run
  std::string metrics_after_first, metrics_after_second;
};

// Runs the training twice on a tmpfs of `bytes` (the second time without --resume), copying
// what the tmpfs held out of it after each run.
FullDiskRun run_on_tmpfs(const fs::path& model, long long bytes) {
  const fs::path case_dir = work / std::to_string(bytes), mount = case_dir / "mnt";
  fs::remove_all(case_dir);
  fs::create_directories(mount);
  const std::string out = (mount / "run").string(), dir = case_dir.string();
  const std::string script = train_line(model, out) + " >" + quoted(dir + "/first.log") + " 2>&1; echo $? >" +
                             quoted(dir + "/first.status") + "; cp -a " + quoted(out) + " " + quoted(dir + "/after") +
                             " 2>/dev/null; cat " + quoted(out + "/metrics.jsonl") + " >" + quoted(dir + "/metrics1") +
                             " 2>/dev/null; " + train_line(model, out) + " >" + quoted(dir + "/second.log") +
                             " 2>&1; echo $? >" + quoted(dir + "/second.status") + "; cat " +
                             quoted(out + "/metrics.jsonl") + " >" + quoted(dir + "/metrics2") + " 2>/dev/null; true";
  const std::string command = "bwrap --dev-bind / / --size " + std::to_string(bytes) + " --tmpfs " +
                              quoted(mount.string()) + " -- /bin/sh -c " + quoted(script);
  REQUIRE(std::system(command.c_str()) == 0);
  FullDiskRun run;
  run.first_status = std::stoi(read_file(case_dir / "first.status"));
  run.second_status = std::stoi(read_file(case_dir / "second.status"));
  run.first_log = read_file(case_dir / "first.log");
  run.second_log = read_file(case_dir / "second.log");
  run.after = case_dir / "after";
  run.metrics_after_first = read_file(case_dir / "metrics1");
  run.metrics_after_second = read_file(case_dir / "metrics2");
  return run;
}

}  // namespace

TEST_CASE("a full disk ends the run with the path and the free space, and loses nothing") {
  if (!bubblewrap_can_mount()) {
    WARN("skipped: bubblewrap cannot mount a tmpfs here (install bubblewrap, allow user namespaces)");
    return;
  }
  const fs::path model = pretrain_tiny(work);
  // A checkpoint of the tiny model is about 800 kB (weights 240 kB, AdamW moments 530 kB): these
  // sizes fill the disk in the first checkpoint, in the second, and in the third or the final
  // model.
  for (const long long kilobytes : {300, 1200, 2000}) {
    INFO(kilobytes << " kB");
    const FullDiskRun run = run_on_tmpfs(model, kilobytes << 10);
    INFO(run.first_log);
    CHECK(run.first_status == 1);
    CHECK_THAT(run.first_log, Catch::Contains("aha: error: cannot write") && Catch::Contains("free on the filesystem"));
    CHECK_THAT(run.first_log, !Catch::Contains("terminate") && !Catch::Contains("Exception raised from"));
    std::ifstream latest(run.after / "latest");
    std::string name;
    if (latest >> name) {
      INFO("latest names " << name);
      const auto state = nlohmann::json::parse(std::ifstream(run.after / name / "trainer_state.json"));
      CHECK(state.at("step").get<int>() > 0);
      CHECK(fs::file_size(run.after / name / "model.safetensors") > 0);
    }
    CHECK(run.second_status == 1);
    CHECK_THAT(run.second_log, Catch::Contains("already holds a run"));
    CHECK(run.metrics_after_second == run.metrics_after_first);
  }
  fs::remove_all(work);
}
