// read_curves: metrics.jsonl parsed line by line with nlohmann::json.
#include "records/curve_series.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace aha::records {

RunCurves read_curves(const std::filesystem::path& metrics_jsonl) {
  std::ifstream in(metrics_jsonl);
  if (!in) throw Error(fmt::format("{}: cannot read the metrics file", metrics_jsonl.string()));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  while (!lines.empty() && lines.back().find_first_not_of(" \t\r") == std::string::npos) lines.pop_back();

  RunCurves curves;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = fmt::format("{}:{}", metrics_jsonl.string(), i + 1);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(lines[i]);
    } catch (const nlohmann::json::parse_error& e) {
      if (i + 1 == lines.size()) break;  // cut short when the run was killed
      throw Error(fmt::format("{}: not a JSON line: {}", where, e.what()));
    }
    if (!record.is_object()) throw Error(fmt::format("{}: expected a JSON object, got {}", where, record.type_name()));
    const auto step = record.find("step");
    if (step == record.end() || !step->is_number())
      throw Error(fmt::format("{}: expected a numeric \"step\" in every line", where));
    for (const auto& [name, value] : record.items()) {
      if (name == "step" || !value.is_number() || !std::isfinite(value.get<double>())) continue;
      CurveSeries& series = curves[name];
      series.steps.push_back(step->get<double>());
      series.values.push_back(value.get<double>());
    }
  }
  return curves;
}

}  // namespace aha::records
