// The curves of a run read back from its metrics.jsonl: every numeric metric against the step.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace aha::records {

// One metric against the training step, in the order of the file.
struct CurveSeries {
  std::vector<double> steps;
  std::vector<double> values;
};

// Every numeric metric of a metrics.jsonl file by name ("accuracy", "eval/pass@1", ...).
using RunCurves = std::map<std::string, CurveSeries, std::less<>>;

// Reads metrics.jsonl: one JSON object with a numeric "step" per line. Values that are not finite
// numbers (null for NaN) are left out; blank lines are skipped, and so is a last line that does
// not parse (a run killed mid-write). Any other malformed line is an Error naming file:line.
RunCurves read_curves(const std::filesystem::path& metrics_jsonl);

}  // namespace aha::records
