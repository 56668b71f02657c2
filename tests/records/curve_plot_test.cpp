// plot_curves: a PNG of curve_plot_width x curve_plot_height (read from its IHDR chunk) and an
// SVG document with the panel titles, for full runs, eval points, single points and no data.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "core/error.hpp"
#include "records/curve_plot.hpp"
#include "tests/test_paths.hpp"

using namespace aha::records;

namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-plot-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::uint32_t big_endian(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = value << 8 | static_cast<unsigned char>(bytes.at(at + i));
  return value;
}

// A 200-step run: train lines every step, an eval line every 50 steps.
std::string run_metrics() {
  std::string text;
  for (int step = 1; step <= 200; ++step) {
    text += "{\"step\": " + std::to_string(step) + ", \"accuracy\": " + std::to_string(step / 250.0) +
            ", \"completion_length_mean\": " + std::to_string(80 + step * 2.5) +
            ", \"reflection_frequency\": " + std::to_string(step % 7 / 20.0) +
            ", \"reward_mean\": " + std::to_string(step / 100.0 - 0.5) + "}\n";
    if (step % 50 == 0) text += "{\"step\": " + std::to_string(step) + ", \"eval/pass@1\": 0.5}\n";
  }
  return text;
}

void check_png(const std::filesystem::path& path) {
  const std::string png = read_file(path);
  REQUIRE(png.size() > 24);
  CHECK(png.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  CHECK(png.substr(12, 4) == "IHDR");
  CHECK(big_endian(png, 16) == curve_plot_width);
  CHECK(big_endian(png, 20) == curve_plot_height);
}

void check_svg(const std::filesystem::path& path) {
  const std::string svg = read_file(path);
  CHECK(svg.starts_with("<?xml"));
  CHECK_THAT(svg,
             Catch::Contains("<svg") && Catch::Contains("width=\"1200px\"") && Catch::Contains("height=\"800px\""));
  CHECK(svg.substr(svg.find_last_not_of(" \n") - 5, 6) == "</svg>");
  CHECK_THAT(svg, Catch::Contains("<title>Training curves: Accuracy, Response length (tokens), Reflection "
                                  "frequency, Reward</title>"));
}

}  // namespace

TEST_CASE("plot_curves writes a PNG and an SVG of the four panels") {
  const auto dir = fresh_dir("run");
  std::ofstream(dir / "metrics.jsonl") << run_metrics();
  plot_curves(dir / "metrics.jsonl", dir / "curves");
  check_png(dir / "curves.png");
  check_svg(dir / "curves.svg");
}

TEST_CASE("plot_curves creates the output prefix's folder") {
  const auto dir = fresh_dir("prefix");
  std::ofstream(dir / "metrics.jsonl") << "{\"step\": 3, \"accuracy\": 0.5, \"reward_mean\": 1}\n";
  plot_curves(dir / "metrics.jsonl", dir / "figures" / "demo");
  check_png(dir / "figures" / "demo.png");
  check_svg(dir / "figures" / "demo.svg");
}

TEST_CASE("plot_curves draws a run without data, with constant values or only eval points") {
  const auto dir = fresh_dir("edges");
  for (const std::string metrics :
       {"", "{\"step\": 0, \"accuracy\": 0, \"reward_mean\": 0}\n{\"step\": 0}\n",
        "{\"step\": 10, \"eval/pass@1\": 1}\n{\"step\": 20, \"eval/pass@1\": 1}\n",
        "{\"step\": 1, \"reward_mean\": -1e9}\n{\"step\": 100000, \"reward_mean\": 1e-9}\n"}) {
    INFO(metrics);
    std::ofstream(dir / "metrics.jsonl") << metrics;
    plot_curves(dir / "metrics.jsonl", dir / "curves");
    check_png(dir / "curves.png");
    check_svg(dir / "curves.svg");
  }
}

TEST_CASE("plot_curves refuses a malformed metrics file before writing anything") {
  const auto dir = fresh_dir("malformed");
  std::ofstream(dir / "metrics.jsonl") << "{\"step\": 1}\nnot json\n{\"step\": 2}\n";
  CHECK_THROWS_WITH(plot_curves(dir / "metrics.jsonl", dir / "curves"),
                    Catch::Contains((dir / "metrics.jsonl").string() + ":2:"));
  CHECK_FALSE(std::filesystem::exists(dir / "curves.png"));
}
