// The `aha` binary as a user runs it: exit statuses (0 ok, 1 error, 2 usage) and messages.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tests/cli/run_command.hpp"
#include "tests/test_paths.hpp"

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace

TEST_CASE("aha info reports LibTorch, CUDA and threads") {
  const auto r = run_aha({"info"});
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("LibTorch") && Catch::Contains("CUDA") && Catch::Contains("threads"));
  CHECK_THAT(r.out, Catch::Contains("CUDA kernels"));
}

TEST_CASE("aha config check succeeds on every shipped config and prints it resolved") {
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(source_dir() / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    INFO(entry.path());
    const auto r = run_aha({"config", "check", entry.path().string()});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    const std::string folder = entry.path().parent_path().filename().string();
    if (folder == "pretrain")
      CHECK_THAT(r.out, Catch::Contains("(pretrain config)") && Catch::Contains("architecture = "));
    else if (folder == "sft") CHECK_THAT(r.out, Catch::Contains("(sft config)") && Catch::Contains("epochs = "));
    else CHECK_THAT(r.out, Catch::Contains("(experiment config)") && Catch::Contains("[grpo]\nadvantage = \"group\""));
    ++checked;
  }
  CHECK(checked >= 6);
  const auto forced =
      run_aha({"config", "check", (source_dir() / "configs/sft/distill-demo.toml").string(), "--kind", "experiment"});
  CHECK(forced.status == 1);
  CHECK_THAT(forced.err, Catch::Contains("[[reward]]"));
}

TEST_CASE("aha config check applies --set overrides") {
  const auto r = run_aha({"config", "check", (source_dir() / "configs/zero-demo.toml").string(), "--set",
                          "rollout.group_size=4", "--set", "grpo.beta=0.01"});
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("group_size = 4\n") && Catch::Contains("beta = 0.01\n"));
}

TEST_CASE("a misspelt key exits 1 with did-you-mean on stderr") {
  const auto file = write_temp(
      "aha-typo.toml",
      "[model]\npath = \"m\"\n[data]\ntrain = \"t\"\n[[reward]]\nrule = \"math\"\n[optim]\nwarmup_step = 1\n");
  const auto r = run_aha({"config", "check", file});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains(file + ":8:1: unknown key 'warmup_step' in [optim]"));
  CHECK_THAT(r.err, Catch::Contains("did you mean"));
}

TEST_CASE("a missing config file exits 1") {
  const auto r = run_aha({"config", "check", "does-not-exist.toml"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("does-not-exist.toml: cannot read the config file"));
}

TEST_CASE("a bad --set value exits 1, a malformed --set exits 2") {
  const auto config = (source_dir() / "configs/zero-demo.toml").string();
  const auto bad_value = run_aha({"config", "check", config, "--set", "rollout.top_p=7"});
  CHECK(bad_value.status == 1);
  CHECK_THAT(bad_value.err, Catch::Contains("--set rollout.top_p=7: rollout.top_p = 7 is out of range"));
  const auto malformed = run_aha({"config", "check", config, "--set", "rollout.top_p"});
  CHECK(malformed.status == 2);
  CHECK_THAT(malformed.err, Catch::Contains("--set rollout.top_p: expected section.key=value"));
}

TEST_CASE("usage errors exit 2 and help exits 0") {
  CHECK(run_aha({}).status == 2);
  CHECK(run_aha({"frobnicate"}).status == 2);
  CHECK(run_aha({"config", "check"}).status == 2);
  CHECK(run_aha({"info", "--bogus"}).status == 2);
  const auto help = run_aha({"--help"});
  CHECK(help.status == 0);
  CHECK_THAT(help.out, Catch::Contains("config") && Catch::Contains("info"));
  CHECK_THAT(run_aha({"--version"}).out, Catch::StartsWith("aha "));
}

TEST_CASE("aha config docs prints the key reference") {
  const auto r = run_aha({"config", "docs"});
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("## [rollout]") && Catch::Contains("| `group_size` | integer | `8` |"));
}
