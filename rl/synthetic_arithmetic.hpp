// The embedded demo's task: short multi-step arithmetic word problems, and reasoning traces in
// the R1-Zero format for pretraining the base model. Some traces make a slip and finish with the
// wrong answer; some make the slip, reflect ("Wait, let me re-check") and correct it. A base
// model trained on that mix answers wrongly part of the time and reflects part of the time,
// which is what GRPO then has to improve: reflecting is worth reward only because it fixes slips.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aha::rl {

struct ArithmeticProblem {
  std::string question;
  int64_t answer = 0;
  std::string trace;  // "<think> ... </think> <answer> N </answer>"
  bool has_slip = false;
  bool reflects = false;
};

struct TraceMix {
  double slip = 0.3;        // share of traces with an arithmetic slip
  double reflect = 0.4;     // share of slipped traces that catch the slip
};

// `count` problems from `seed`; the same seed gives the same problems.
std::vector<ArithmeticProblem> make_arithmetic_problems(uint64_t seed, int count, const TraceMix& mix = {});

}  // namespace aha::rl
