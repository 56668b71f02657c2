// A time budget for one verdict: long loops call check(), which throws DeadlineExceeded once the
// budget is spent, so no answer can keep a reward worker busy.
#pragma once

#include <chrono>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.hpp"

namespace aha::rewards {

class DeadlineExceeded : public Error {
 public:
  using Error::Error;
};

class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds budget)
      : budget_(budget), end_(std::chrono::steady_clock::now() + budget) {}
  // Throws DeadlineExceeded when the budget is spent; reads the clock every 64 calls.
  void check() {
    if ((++calls_ & 63u) == 0 && std::chrono::steady_clock::now() > end_) throw_exceeded();
  }

 private:
  [[noreturn]] void throw_exceeded() const {
    throw DeadlineExceeded(fmt::format("the verdict took longer than its budget of {} ms; raise the rule's timeout_ms "
                                       "or shorten the answer",
                                       budget_.count()));
  }
  std::chrono::milliseconds budget_;
  std::chrono::steady_clock::time_point end_;
  std::uint64_t calls_ = 0;
};

}  // namespace aha::rewards
