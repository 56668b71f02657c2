// read_curves: metrics.jsonl back into one series per metric, with missing keys, nulls, eval lines,
// a run killed mid-line, and malformed lines named by file:line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "core/error.hpp"
#include "records/curve_series.hpp"

using namespace aha::records;

namespace {

std::filesystem::path write_metrics(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-curves-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / (name + ".jsonl");
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::filesystem::path& path) {
  try {
    read_curves(path);
  } catch (const aha::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("read_curves gives each metric the steps of the lines that have it") {
  const auto path =
      write_metrics("keys", "{\"step\": 1, \"accuracy\": 0.5, \"reward_mean\": 0.25, \"completion_length_mean\": 120}\n"
                            "{\"step\": 2, \"accuracy\": 0.75, \"reflection_frequency\": 0.1, \"kl\": null, "
                            "\"note\": \"text\", \"done\": true}\n"
                            "\n"
                            "{\"step\": 2, \"eval/pass@1\": 0.625}\n"
                            "{\"step\": 3, \"accuracy\": 0.8, \"rew");
  const RunCurves curves = read_curves(path);
  CHECK(curves.size() == 5);
  CHECK(curves.at("accuracy").steps == std::vector<double>{1, 2});
  CHECK(curves.at("accuracy").values == std::vector<double>{0.5, 0.75});
  CHECK(curves.at("reward_mean").steps == std::vector<double>{1});
  CHECK(curves.at("completion_length_mean").values == std::vector<double>{120});
  CHECK(curves.at("reflection_frequency").steps == std::vector<double>{2});
  CHECK(curves.at("eval/pass@1").values == std::vector<double>{0.625});
  CHECK(curves.find("kl") == curves.end());
  CHECK(curves.find("note") == curves.end());
}

TEST_CASE("read_curves skips a cut-short last line followed by blank lines") {
  const auto path = write_metrics("cut", "{\"step\": 1, \"accuracy\": 0.5}\n{\"step\": 2, \"accu\n\n");
  CHECK(read_curves(path).at("accuracy").steps == std::vector<double>{1});
}

TEST_CASE("read_curves reads an empty file as no curves") { CHECK(read_curves(write_metrics("empty", "")).empty()); }

TEST_CASE("a malformed line before the last is an error naming file and line") {
  const auto path = write_metrics("middle", "{\"step\": 1, \"accuracy\": 0.5}\n{\"step\": 2, \"accu\n{\"step\": 3}\n");
  CHECK_THAT(error_of(path), Catch::Contains(path.string() + ":2: not a JSON line"));
}

TEST_CASE("a line that is not an object or has no numeric step is an error naming file and line") {
  const auto array = write_metrics("array", "{\"step\": 1}\n[1, 2]\n{\"step\": 3}\n");
  CHECK_THAT(error_of(array), Catch::Contains(array.string() + ":2: expected a JSON object, got array"));
  const auto no_step = write_metrics("no-step", "{\"accuracy\": 0.5}\n");
  CHECK_THAT(error_of(no_step), Catch::Contains(no_step.string() + ":1: expected a numeric \"step\""));
  const auto text_step = write_metrics("text-step", "{\"step\": 1}\n{\"step\": \"2\"}\n");
  CHECK_THAT(error_of(text_step), Catch::Contains(text_step.string() + ":2: expected a numeric \"step\""));
}

TEST_CASE("a missing metrics file is an error naming it") {
  const auto path = std::filesystem::temp_directory_path() / "aha-no-such-run" / "metrics.jsonl";
  CHECK_THAT(error_of(path), Catch::Contains(path.string() + ": cannot read the metrics file"));
}
