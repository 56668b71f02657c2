// metrics.jsonl and samples.jsonl: one object per step, NaN as null, and a resume that cuts the
// files back to the resumed step.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "records/metrics_log.hpp"
#include "tests/test_paths.hpp"

using namespace aha::records;

namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-metrics-" + name + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

StepMetrics metrics(double reward) {
  StepMetrics m;
  m.add("reward_mean", reward);
  m.add("kl", std::nan(""));
  return m;
}

}  // namespace

TEST_CASE("metrics.jsonl holds one object per step, keys in order, NaN as null") {
  const auto dir = fresh_dir("lines");
  {
    MetricsLog log(dir, LogSection{}, 0, 100.0);
    log.write(1, metrics(0.5), 101.0);
    log.write(2, metrics(0.75), 102.0);
  }
  CHECK(read_file(dir / "metrics.jsonl") ==
        "{\"step\":1,\"reward_mean\":0.5,\"kl\":null}\n{\"step\":2,\"reward_mean\":0.75,\"kl\":null}\n");
  CHECK(std::filesystem::exists(dir / "tensorboard"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a resumed run cuts the logs back to its step, dropping a torn last line") {
  const auto dir = fresh_dir("resume");
  {
    MetricsLog log(dir, LogSection{}, 0, 100.0);
    for (int step = 1; step <= 4; ++step) log.write(step, metrics(step), 100.0 + step);
    log.sample(4, "p", "c", 1.0, 104.0);
  }
  std::ofstream(dir / "metrics.jsonl", std::ios::app) << "{\"step\":5,\"rew";  // killed mid-write
  {
    MetricsLog log(dir, LogSection{}, 2, 200.0);
    log.write(3, metrics(30), 203.0);
  }
  CHECK(read_file(dir / "metrics.jsonl") == "{\"step\":1,\"reward_mean\":1.0,\"kl\":null}\n"
                                            "{\"step\":2,\"reward_mean\":2.0,\"kl\":null}\n"
                                            "{\"step\":3,\"reward_mean\":30.0,\"kl\":null}\n");
  CHECK(read_file(dir / "samples.jsonl").empty());
  std::filesystem::remove_all(dir);
}
