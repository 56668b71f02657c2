// learning_rate(): warmup, then the chosen decay.
#include "rl/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace aha::rl {

double learning_rate(const OptimSection& o, int step, int total_steps) {
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step) / std::max(1, o.warmup_steps);
  const double progress = static_cast<double>(step - o.warmup_steps) / std::max(1, total_steps - o.warmup_steps);
  double factor = 1.0;
  switch (o.schedule) {
    case Schedule::constant: return o.lr;
    case Schedule::linear: factor = std::max(0.0, 1.0 - progress); break;
    case Schedule::cosine: factor = std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * progress))); break;
  }
  return o.lr * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * factor);
}

}  // namespace aha::rl
