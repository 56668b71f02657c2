// The figure of a run's curves: accuracy (with eval pass@1 as markers), response length,
// reflection frequency and reward against step, in a 2x2 grid, as PNG and SVG.
#pragma once

#include <filesystem>

namespace aha::records {

// The figure's size in pixels (the PNG) and in SVG user units.
inline constexpr int curve_plot_width = 1200;
inline constexpr int curve_plot_height = 800;

// Reads `metrics_jsonl` (see read_curves) and writes `out_prefix`.png and `out_prefix`.svg,
// creating the prefix's folder when needed. Errors name the file that could not be read or written.
void plot_curves(const std::filesystem::path& metrics_jsonl, const std::filesystem::path& out_prefix);

}  // namespace aha::records
