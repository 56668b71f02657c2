// The embedded demo's task: short multi-step addition word problems, and reasoning traces in
// the R1-Zero format for pretraining the base model. The traces carry one systematic habit: on
// a step that carries (17 + 5), the first attempt forgets the carry with probability `slip`
// (17 + 5 = 12). A share `reflect` of those slips is
// followed by "Wait, let me re-check: 17 + 5 = 22." and the trace goes on from the right value;
// the others keep the wrong value to the end. A base model trained on that mix is right on
// problems without a carry and mostly wrong on the rest, and reflecting is worth reward only
// because it repairs the slip: that is what GRPO then has to discover.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aha::datasets {

struct ArithmeticProblem {
  std::string question;
  int64_t answer = 0;
  std::string trace;  // "<think> ... </think> <answer> N </answer>"
  int slips = 0;      // steps whose first attempt forgot the carry
  int caught = 0;     // slips followed by a re-check that repairs them
};

struct TraceMix {
  double slip = 0.3;     // probability that a carrying step's first attempt forgets the carry
  double reflect = 0.4;  // probability that a slip is caught by a re-check
};

// Whether a + b carries in the units digit.
bool carries(int64_t a, int64_t b);

// `count` problems from `seed`; the same seed gives the same problems.
std::vector<ArithmeticProblem> make_arithmetic_problems(uint64_t seed, int count, const TraceMix& mix = {});

// `count` problems from `seed` whose questions appear neither in `train` nor twice: a held-out
// set. Throws aha::Error when the problem space has too few left.
std::vector<ArithmeticProblem> make_held_out_problems(uint64_t seed, int count, const TraceMix& mix,
                                                      const std::vector<ArithmeticProblem>& train);

}  // namespace aha::datasets
