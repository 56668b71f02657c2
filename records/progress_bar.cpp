// ProgressBar: redraw with '\r' on a terminal, or sparse lines in a log file.
#include "records/progress_bar.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace aha::records {

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled, int64_t start)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      start_(start),
      enabled_(enabled),
      terminal_(::isatty(STDERR_FILENO) != 0),
      began_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t done, const std::string& summary) {
  if (!enabled_) return;
  const bool tenth = done * 10 / total_ != last_printed_ * 10 / total_;
  if (!terminal_ && !tenth && done != total_) return;
  last_printed_ = done;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count();
  const double rate = done > start_ ? elapsed / static_cast<double>(done - start_) : 0.0;
  const int width = 24, filled = static_cast<int>(width * done / total_);
  const std::string line = fmt::format("{} {}/{} [{}{}] {:3}% {} | {} < {}", label_, done, total_,
                                       std::string(filled, '#'), std::string(width - filled, '.'), 100 * done / total_,
                                       summary, clock_text(elapsed),
                                       clock_text(rate * static_cast<double>(total_ - done)));
  std::fprintf(stderr, terminal_ ? "\r%s\033[K" : "%s\n", line.c_str());
  std::fflush(stderr);
}

void ProgressBar::note(const std::string& line) {
  std::fprintf(stderr, enabled_ && terminal_ ? "\r%s\033[K\n" : "%s\n", line.c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_ && terminal_) std::fputc('\n', stderr);
}

}  // namespace aha::records
