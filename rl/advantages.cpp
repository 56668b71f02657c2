// compute_advantages: group means and unbiased standard deviations.
#include "rl/advantages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"

namespace aha::rl {

namespace {

double mean(std::span<const double> x) {
  return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}

// Bessel-corrected standard deviation; 0 for fewer than two values.
double unbiased_std(std::span<const double> x) {
  if (x.size() < 2) return 0.0;
  const double m = mean(x);
  double sum = 0.0;
  for (const double v : x) sum += (v - m) * (v - m);
  return std::sqrt(sum / static_cast<double>(x.size() - 1));
}

}  // namespace

std::vector<double> compute_advantages(std::span<const double> rewards, int group_size, AdvantageMode mode,
                                       double std_eps) {
  if (group_size < 1 || rewards.size() % static_cast<std::size_t>(group_size) != 0)
    throw Error(fmt::format("{} rewards do not split into groups of {}", rewards.size(), group_size));
  std::vector<double> out(rewards.size());
  const double batch_std = unbiased_std(rewards);
  const std::size_t groups = rewards.size() / static_cast<std::size_t>(group_size);
  for (std::size_t g = 0; g < groups; ++g) {
    const auto group = rewards.subspan(g * group_size, group_size);
    const double m = mean(group);
    const double group_std = unbiased_std(group);
    const double scale = mode == AdvantageMode::group ? group_std : batch_std;
    for (int i = 0; i < group_size; ++i) {
      const double centred = group[i] - m;
      out[g * group_size + i] = mode == AdvantageMode::none ? centred : centred / (scale + std_eps);
    }
  }
  return out;
}

}  // namespace aha::rl
