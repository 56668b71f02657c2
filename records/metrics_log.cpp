// MetricsLog: JSONL lines with nlohmann::json, TensorBoard scalars and text.
#include "records/metrics_log.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/durable_file.hpp"
#include "core/error.hpp"

namespace aha::records {

std::optional<double> StepMetrics::get(std::string_view name) const {
  for (const auto& [key, value] : items_)
    if (key == name) return value;
  return std::nullopt;
}

void truncate_jsonl_after(const std::filesystem::path& path, int64_t step) {
  if (!std::filesystem::exists(path)) return;
  std::ifstream in(path);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && record.contains("step") && record["step"].get<int64_t>() > step) continue;
    if (record.is_discarded()) continue;  // a line cut short by a crash
    kept += line + "\n";
  }
  write_file_durably(path, kept);
}

MetricsLog::MetricsLog(const std::filesystem::path& dir, const LogSection& log, int64_t resume_step, double wall_time)
    : log_(log), dir_(dir) {
  std::filesystem::create_directories(dir);
  if (log.jsonl) {
    truncate_jsonl_after(dir / "metrics.jsonl", resume_step);
    jsonl_.open(dir / "metrics.jsonl", std::ios::app);
    if (!jsonl_) throw Error(fmt::format("{}: cannot write metrics.jsonl", dir.string()));
  }
  if (log.samples_every > 0) {
    truncate_jsonl_after(dir / "samples.jsonl", resume_step);
    samples_.open(dir / "samples.jsonl", std::ios::app);
  }
  if (log.tensorboard) tensorboard_ = std::make_unique<TensorBoardWriter>(dir / "tensorboard", wall_time);
}

void MetricsLog::write(int64_t step, const StepMetrics& metrics, double wall_time) {
  nlohmann::ordered_json line;
  line["step"] = step;
  for (const auto& [name, value] : metrics.items()) {
    line[name] = std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
    if (tensorboard_) tensorboard_->scalar(name, value, step, wall_time);
  }
  if (jsonl_.is_open()) jsonl_ << line.dump() << "\n";
  flush();
}

void MetricsLog::sample(int64_t step, const std::string& prompt, const std::string& completion, double reward,
                        double wall_time) {
  if (samples_.is_open()) {
    nlohmann::ordered_json line{{"step", step}, {"reward", reward}, {"prompt", prompt}, {"completion", completion}};
    samples_ << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  if (tensorboard_)
    tensorboard_->text("samples", fmt::format("**reward {:.3g}**\n\n{}{}", reward, prompt, completion), step,
                       wall_time);
}

void MetricsLog::flush() {
  if (jsonl_.is_open() && !jsonl_.flush()) throw_write_error(dir_ / "metrics.jsonl", "the write failed");
  if (samples_.is_open() && !samples_.flush()) throw_write_error(dir_ / "samples.jsonl", "the write failed");
  if (tensorboard_) tensorboard_->flush();
}

}  // namespace aha::records
