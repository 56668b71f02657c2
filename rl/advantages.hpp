// Group-relative advantages: each completion's reward against the other completions of its
// prompt, so no value model is needed. Plain C++ on the rewards; no tensors.
#pragma once

#include <span>
#include <vector>

#include "rl/training_sections.hpp"

namespace aha::rl {

// `rewards` holds groups of `group_size` consecutive completions. A_i = r_i - mean(group), divided
// by (std + std_eps) where std is the group's (mode group) or the whole batch's (mode batch)
// unbiased standard deviation; mode none keeps the difference (Dr. GRPO). As TRL computes it.
// One advantage per completion, in input order; a group whose rewards all agree gets zeros.
std::vector<double> compute_advantages(std::span<const double> rewards, int group_size, AdvantageMode mode,
                                       double std_eps);

}  // namespace aha::rl
