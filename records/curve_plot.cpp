// plot_curves: one drawing routine on a cairo context, run on an image surface (the PNG) and on an
// SVG surface. Each axis is rounded out to ticks at 1, 2 or 5 times a power of ten.
#include "records/curve_plot.hpp"

#include <cairo-svg.h>
#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <numbers>
#include <string>
#include <string_view>
#include <vector>

#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "records/curve_series.hpp"

namespace aha::records {

namespace {

struct Panel {
  std::string_view title;
  std::string_view metric;
};

constexpr std::array<Panel, 4> panels{{{"Accuracy", "accuracy"},
                                       {"Response length (tokens)", "completion_length_mean"},
                                       {"Reflection frequency", "reflection_frequency"},
                                       {"Reward", "reward_mean"}}};
constexpr std::string_view eval_metric = "eval/pass@1";
constexpr double panel_width = curve_plot_width / 2.0, panel_height = curve_plot_height / 2.0;

struct Color {
  double r, g, b;
};
constexpr Color train_color{0.12, 0.47, 0.71}, eval_color{0.90, 0.38, 0.0}, text_color{0.15, 0.15, 0.15},
    faint_text_color{0.55, 0.55, 0.55}, grid_color{0.90, 0.90, 0.90}, frame_color{0.55, 0.55, 0.55};

void set_color(cairo_t* cr, Color c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

void set_font(cairo_t* cr, double size, cairo_font_weight_t weight = CAIRO_FONT_WEIGHT_NORMAL) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, weight);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  return extents.x_advance;
}

// Draws `text` with the point (x, y) at the fraction (ax, ay) of its box: (0, 0) is the top left
// corner, (0.5, 0.5) the centre.
void draw_text(cairo_t* cr, const std::string& text, double x, double y, double ax, double ay) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  cairo_move_to(cr, x - extents.x_bearing - extents.width * ax, y - extents.y_bearing - extents.height * ay);
  cairo_show_text(cr, text.c_str());
  cairo_new_path(cr);  // showing text leaves a current point that the next line would start from
}

// A line of one pixel on the pixel grid, so that the PNG shows it sharp.
double crisp(double v) { return std::floor(v) + 0.5; }

void segment(cairo_t* cr, double x0, double y0, double x1, double y1) {
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
}

// An axis from lo to hi with a tick every `step`.
struct Axis {
  double lo, hi, step;

  std::vector<double> ticks() const {
    std::vector<double> at;
    for (int i = 0; lo + i * step <= hi + step * 1e-6; ++i) at.push_back(lo + i * step);
    return at;
  }

  // A tick's label with the decimals the step needs; on axes that reach 10,000 or more, in
  // thousands (k), millions (M) or billions (G).
  std::string label(double v) const {
    if (std::abs(v) < step * 1e-6) v = 0;  // not "-0.0" or "1e-17"
    const auto decimals = [](double tick_step) {
      return std::max(0, static_cast<int>(-std::floor(std::log10(tick_step) + 1e-9)));
    };
    const double magnitude = std::max(std::abs(lo), std::abs(hi));
    for (const auto& [scale, suffix] : {std::pair{1e9, "G"}, std::pair{1e6, "M"}, std::pair{1e3, "k"}})
      if (magnitude >= 10 * scale)
        return v == 0 ? "0" : fmt::format("{:.{}f}{}", v / scale, decimals(step / scale), suffix);
    return fmt::format("{:.{}f}", v, decimals(step));
  }
};

// Rounds [lo, hi] out to multiples of a step of 1, 2 or 5 times a power of ten (at least
// `min_step`) that gives about five ticks. A single value gets room around it; no value, [0, 1].
Axis nice_axis(double lo, double hi, double min_step) {
  if (lo > hi) {
    lo = 0;
    hi = 1;
  }
  if (lo == hi) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double rough = std::max((hi - lo) / 5, min_step);
  const double power = std::pow(10, std::floor(std::log10(rough)));
  double step = 10 * power;
  for (const double multiple : {1.0, 2.0, 5.0})
    if (multiple * power >= rough * (1 - 1e-9)) {
      step = multiple * power;
      break;
    }
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

// The plot area of one panel on the page and the data range it shows.
struct Frame {
  double left, top, width, height;
  Axis x, y;

  double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * width; }
  double py(double v) const { return top + height - (v - y.lo) / (y.hi - y.lo) * height; }
};

const CurveSeries* find_series(const RunCurves& curves, std::string_view metric) {
  const auto it = curves.find(metric);
  return it == curves.end() ? nullptr : &it->second;
}

void widen(double& lo, double& hi, const std::vector<double>& values) {
  for (const double v : values) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
}

void draw_axes(cairo_t* cr, const Frame& f) {
  cairo_set_line_width(cr, 1);
  set_color(cr, grid_color);
  for (const double v : f.x.ticks()) segment(cr, crisp(f.px(v)), f.top, crisp(f.px(v)), f.top + f.height);
  for (const double v : f.y.ticks()) segment(cr, f.left, crisp(f.py(v)), f.left + f.width, crisp(f.py(v)));
  cairo_stroke(cr);

  set_color(cr, frame_color);
  cairo_rectangle(cr, crisp(f.left), crisp(f.top), std::round(f.width), std::round(f.height));
  for (const double v : f.x.ticks())
    segment(cr, crisp(f.px(v)), f.top + f.height, crisp(f.px(v)), f.top + f.height + 4);
  for (const double v : f.y.ticks()) segment(cr, f.left - 4, crisp(f.py(v)), f.left, crisp(f.py(v)));
  cairo_stroke(cr);

  set_font(cr, 12);
  set_color(cr, text_color);
  for (const double v : f.x.ticks()) draw_text(cr, f.x.label(v), f.px(v), f.top + f.height + 8, 0.5, 0);
  for (const double v : f.y.ticks()) draw_text(cr, f.y.label(v), f.left - 8, f.py(v), 1, 0.5);
  draw_text(cr, "step", f.left + f.width / 2, f.top + f.height + 28, 0.5, 0);
}

void draw_line(cairo_t* cr, const Frame& f, const CurveSeries& series) {
  set_color(cr, train_color);
  if (series.steps.size() == 1) {
    cairo_arc(cr, f.px(series.steps[0]), f.py(series.values[0]), 2.5, 0, 2 * std::numbers::pi);
    cairo_fill(cr);
    return;
  }
  for (std::size_t i = 0; i < series.steps.size(); ++i)
    cairo_line_to(cr, f.px(series.steps[i]), f.py(series.values[i]));
  cairo_set_line_width(cr, 1.8);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke(cr);
}

void draw_marker(cairo_t* cr, double x, double y) {
  cairo_new_sub_path(cr);
  cairo_arc(cr, x, y, 4.5, 0, 2 * std::numbers::pi);
}

void draw_markers(cairo_t* cr, const Frame& f, const CurveSeries& series) {
  for (std::size_t i = 0; i < series.steps.size(); ++i) draw_marker(cr, f.px(series.steps[i]), f.py(series.values[i]));
  set_color(cr, eval_color);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_set_line_width(cr, 1.2);
  cairo_stroke(cr);
}

// The legend of the accuracy panel, right-aligned at `right` on the title's line `y`.
void draw_legend(cairo_t* cr, double right, double y, bool train, bool eval) {
  set_font(cr, 12);
  double x = right;
  if (eval) {
    set_color(cr, text_color);
    draw_text(cr, "eval pass@1", x, y, 1, 0.5);
    x -= text_width(cr, "eval pass@1") + 12;
    draw_marker(cr, x, y);
    set_color(cr, eval_color);
    cairo_fill(cr);
    x -= 20;
  }
  if (train) {
    set_color(cr, text_color);
    draw_text(cr, "train accuracy", x, y, 1, 0.5);
    x -= text_width(cr, "train accuracy") + 6;
    set_color(cr, train_color);
    cairo_set_line_width(cr, 1.8);
    segment(cr, x - 20, y, x, y);
    cairo_stroke(cr);
  }
}

void draw_panel(cairo_t* cr, const RunCurves& curves, const Panel& panel, double left, double top, const Axis& x) {
  const CurveSeries* series = find_series(curves, panel.metric);
  const CurveSeries* eval = panel.metric == "accuracy" ? find_series(curves, eval_metric) : nullptr;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const CurveSeries* s : {series, eval})
    if (s) widen(lo, hi, s->values);
  const Frame f{left + 72, top + 46, panel_width - 72 - 24, panel_height - 46 - 52, x, nice_axis(lo, hi, 0)};

  set_font(cr, 15, CAIRO_FONT_WEIGHT_BOLD);
  set_color(cr, text_color);
  draw_text(cr, std::string(panel.title), f.left, top + 24, 0, 0.5);
  draw_axes(cr, f);
  if (!series && !eval) {
    set_font(cr, 14);
    set_color(cr, faint_text_color);
    draw_text(cr, fmt::format("no \"{}\" in metrics.jsonl", panel.metric), f.left + f.width / 2, f.top + f.height / 2,
              0.5, 0.5);
    return;
  }
  if (series) draw_line(cr, f, *series);
  if (eval) {
    draw_markers(cr, f, *eval);
    draw_legend(cr, f.left + f.width, top + 24, series != nullptr, true);
  }
}

void draw_figure(cairo_t* cr, const RunCurves& curves) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  double first = std::numeric_limits<double>::infinity(), last = -first;  // one step axis for all panels
  for (const auto& panel : panels)
    if (const CurveSeries* s = find_series(curves, panel.metric)) widen(first, last, s->steps);
  if (const CurveSeries* s = find_series(curves, eval_metric)) widen(first, last, s->steps);
  const Axis steps = nice_axis(first, last, 1);
  for (std::size_t i = 0; i < panels.size(); ++i)
    draw_panel(cr, curves, panels[i], static_cast<double>(i % 2) * panel_width,
               static_cast<double>(i / 2) * panel_height, steps);
}

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;

void check(cairo_status_t status, const std::filesystem::path& path) {
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error(fmt::format("{}: cannot draw the curves: {}", path.string(), cairo_status_to_string(status)));
}

void draw_on(cairo_surface_t* surface, const RunCurves& curves, const std::filesystem::path& path) {
  const std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface), cairo_destroy);
  draw_figure(cr.get(), curves);
  check(cairo_status(cr.get()), path);
}

cairo_status_t append_to_string(void* text, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(text)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void write_png(const RunCurves& curves, const std::filesystem::path& path) {
  const Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, curve_plot_width, curve_plot_height),
                        cairo_surface_destroy);
  draw_on(surface.get(), curves, path);
  std::string png;
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface.get(), append_to_string, &png);
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error(fmt::format("{}: cannot encode the PNG: {}", path.string(), cairo_status_to_string(status)));
  write_file_durably(path, png);
}

void write_svg(const RunCurves& curves, const std::filesystem::path& path) {
  std::string svg;
  {
    const Surface surface(
        cairo_svg_surface_create_for_stream(append_to_string, &svg, curve_plot_width, curve_plot_height),
        cairo_surface_destroy);
    cairo_svg_surface_set_document_unit(surface.get(), CAIRO_SVG_UNIT_PX);
    draw_on(surface.get(), curves, path);
    cairo_surface_finish(surface.get());
    check(cairo_surface_status(surface.get()), path);
  }
  // cairo draws text as glyph outlines, so a <title> names the panels for screen readers and search.
  std::string title = "Training curves:";
  for (const auto& panel : panels) title += fmt::format(" {}{}", panel.title, &panel == &panels.back() ? "" : ",");
  if (const auto root = svg.find("<svg"); root != std::string::npos)
    svg.insert(svg.find('>', root) + 1, fmt::format("\n<title>{}</title>", title));
  write_file_durably(path, svg);
}

}  // namespace

void plot_curves(const std::filesystem::path& metrics_jsonl, const std::filesystem::path& out_prefix) {
  const RunCurves curves = read_curves(metrics_jsonl);
  if (out_prefix.has_parent_path()) std::filesystem::create_directories(out_prefix.parent_path());
  write_png(curves, out_prefix.string() + ".png");
  write_svg(curves, out_prefix.string() + ".svg");
}

}  // namespace aha::records
