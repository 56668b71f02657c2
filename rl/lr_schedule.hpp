// The learning rate at each optimizer step: linear warmup from 0, then constant, linear decay or
// cosine decay to min_lr_ratio * lr at the last step (transformers' schedules with warmup).
#pragma once

#include "rl/training_sections.hpp"

namespace aha::rl {

// The rate for optimizer step `step` (0-based) of `total_steps`.
double learning_rate(const OptimSection& optim, int step, int total_steps);

}  // namespace aha::rl
