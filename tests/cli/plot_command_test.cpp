// `aha plot` as a user runs it: the figure beside metrics.jsonl or at --out, and exit status 1
// naming the file when metrics.jsonl is missing or malformed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tests/cli/run_command.hpp"

namespace {

std::filesystem::path run_dir(const std::string& name, const std::string& metrics) {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-plot-cli-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (!metrics.empty()) std::ofstream(dir / "metrics.jsonl") << metrics;
  return dir;
}

constexpr const char* metrics =
    "{\"step\": 1, \"accuracy\": 0.1, \"completion_length_mean\": 90, \"reflection_frequency\": 0, \"reward_mean\": "
    "0.2}\n"
    "{\"step\": 2, \"accuracy\": 0.3, \"completion_length_mean\": 110, \"reflection_frequency\": 0.1, \"reward_mean\": "
    "0.5}\n"
    "{\"step\": 2, \"eval/pass@1\": 0.25}\n";

}  // namespace

TEST_CASE("aha plot writes curves.png and curves.svg into the run directory") {
  const auto dir = run_dir("default", metrics);
  const auto r = run_aha({"plot", dir.string()});
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::Contains((dir / "curves").string() + ".png"));
  CHECK(std::filesystem::file_size(dir / "curves.png") > 0);
  CHECK(std::filesystem::file_size(dir / "curves.svg") > 0);
}

TEST_CASE("aha plot --out writes PREFIX.png and PREFIX.svg") {
  const auto dir = run_dir("out", metrics);
  const auto r = run_aha({"plot", dir.string(), "--out", (dir / "figures" / "run").string()});
  CHECK(r.status == 0);
  CHECK(std::filesystem::exists(dir / "figures" / "run.png"));
  CHECK(std::filesystem::exists(dir / "figures" / "run.svg"));
  CHECK_FALSE(std::filesystem::exists(dir / "curves.png"));
}

TEST_CASE("aha plot exits 1 naming a missing or malformed metrics.jsonl") {
  const auto empty = run_dir("missing", "");
  const auto missing = run_aha({"plot", empty.string()});
  CHECK(missing.status == 1);
  CHECK_THAT(missing.err, Catch::Contains((empty / "metrics.jsonl").string() + ": cannot read the metrics file"));

  const auto bad = run_dir("malformed", "{\"step\": 1}\n{oops\n{\"step\": 2}\n");
  const auto malformed = run_aha({"plot", bad.string()});
  CHECK(malformed.status == 1);
  CHECK_THAT(malformed.err, Catch::Contains((bad / "metrics.jsonl").string() + ":2: not a JSON line"));
  CHECK_FALSE(std::filesystem::exists(bad / "curves.png"));
}

TEST_CASE("aha plot without a run directory is a usage error") { CHECK(run_aha({"plot"}).status == 2); }
