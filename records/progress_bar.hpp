// A one-line progress display on stderr: count, bar, percentage, a caller's summary, elapsed
// time and ETA. On a terminal it redraws in place; otherwise it prints a line every tenth.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace aha::records {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, bool enabled, int64_t start = 0);
  void update(int64_t done, const std::string& summary);
  // A line of its own on stderr (a warning), above the bar: printed whether or not the bar is.
  void note(const std::string& line);
  void finish();

 private:
  std::string label_;
  int64_t total_, start_, last_printed_ = -1;
  bool enabled_, terminal_;
  std::chrono::steady_clock::time_point began_;
};

// "1:05:09", "4:02", "0:07"
std::string clock_text(double seconds);

}  // namespace aha::records
