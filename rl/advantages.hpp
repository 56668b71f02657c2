// Group-relative advantages: each completion's reward against the other completions of its
// prompt, so no value model is needed. Plain C++ on the rewards; no tensors.
#pragma once

#include <span>
#include <vector>

#include "rl/training_sections.hpp"

namespace aha::rl {

struct Advantages {
  std::vector<double> values;         // one per completion, in input order
  std::vector<bool> zero_std_groups;  // per group: every reward equal, so no learning signal
  double frac_zero_std = 0.0;         // share of such groups
};

// `rewards` holds groups of `group_size` consecutive completions. A_i = r_i - mean(group), divided
// by (std + std_eps) where std is the group's (mode group) or the whole batch's (mode batch)
// unbiased standard deviation; mode none keeps the difference (Dr. GRPO). As TRL computes it.
Advantages compute_advantages(std::span<const double> rewards, int group_size, AdvantageMode mode, double std_eps);

}  // namespace aha::rl
