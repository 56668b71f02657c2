// `aha plot RUN_DIR [--out PREFIX]`: draws a run's curves (accuracy with eval pass@1, response
// length, reflection frequency, reward against step) from RUN_DIR/metrics.jsonl into
// RUN_DIR/curves.png and RUN_DIR/curves.svg, or PREFIX.png and PREFIX.svg.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "records/curve_plot.hpp"

namespace aha::cli {

namespace {

struct PlotOptions {
  std::string run_dir;
  std::string out;
};

int run_plot(const PlotOptions& options) {
  const std::filesystem::path run_dir(options.run_dir);
  const std::filesystem::path prefix = options.out.empty() ? run_dir / "curves" : std::filesystem::path(options.out);
  records::plot_curves(run_dir / "metrics.jsonl", prefix);
  std::cout << fmt::format("wrote {0}.png and {0}.svg\n", prefix.string());
  return 0;
}

}  // namespace

void add_plot_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<PlotOptions>();
  auto* plot = app.add_subcommand("plot", "Draw a run's accuracy, response length, reflection and reward curves");
  plot->add_option("RUN_DIR", options->run_dir, "run directory holding metrics.jsonl")->required();
  plot->add_option("--out", options->out, "write PREFIX.png and PREFIX.svg instead of RUN_DIR/curves.*")
      ->type_name("PREFIX");
  plot->callback([&chosen, options] { chosen = [options] { return run_plot(*options); }; });
}

}  // namespace aha::cli
