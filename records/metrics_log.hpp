// Where a run's numbers go: metrics.jsonl (one JSON object per step), TensorBoard event files
// under tensorboard/, and sample completions in samples.jsonl (and as TensorBoard text). A
// resumed run first cuts metrics.jsonl and samples.jsonl back to the step it resumes from, so
// the files read as if the run had never stopped.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "records/log_section.hpp"
#include "records/tensorboard_writer.hpp"

namespace aha::records {

// One step's metrics, in the order they were added.
class StepMetrics {
 public:
  void add(std::string name, double value) { items_.emplace_back(std::move(name), value); }
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  std::optional<double> get(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, double>> items_;
};

class MetricsLog {
 public:
  // `resume_step`: the last step already done (0 for a fresh run); later lines are dropped.
  MetricsLog(const std::filesystem::path& output_dir, const LogSection& log, int64_t resume_step, double wall_time);
  void write(int64_t step, const StepMetrics& metrics, double wall_time);
  void sample(int64_t step, const std::string& prompt, const std::string& completion, double reward, double wall_time);
  void flush();

 private:
  LogSection log_;
  std::filesystem::path dir_;
  std::ofstream jsonl_, samples_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

// Drops the lines of a JSONL file whose "step" is greater than `step` (rewriting it atomically).
void truncate_jsonl_after(const std::filesystem::path& path, int64_t step);

}  // namespace aha::records
