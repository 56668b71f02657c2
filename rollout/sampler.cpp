// Temperature, top-k, top-p and min-p, then a multinomial draw.
#include "rollout/sampler.hpp"

#include <ATen/ATen.h>

#include <limits>

namespace aha::rollout {

at::Tensor filtered_logits(const at::Tensor& logits, const SamplingParams& p) {
  constexpr double minus_inf = -std::numeric_limits<double>::infinity();
  at::Tensor scaled = logits.to(at::kFloat) / p.temperature;  // [rows, vocab]
  const int64_t vocab = scaled.size(-1);
  if (p.top_k > 0 && p.top_k < vocab) {
    const at::Tensor kth = std::get<0>(scaled.topk(p.top_k, -1)).narrow(-1, p.top_k - 1, 1);  // [rows, 1]
    scaled = scaled.masked_fill(scaled < kth, minus_inf);
  }
  if (p.top_p < 1.0) {
    const auto [sorted, order] = scaled.sort(-1, /*descending=*/true);
    const at::Tensor probs = at::softmax(sorted, -1);
    // Drop a token when the tokens ranked above it already reach top_p; the first always stays.
    const at::Tensor mass_before = probs.cumsum(-1) - probs;
    const at::Tensor drop_sorted = mass_before >= p.top_p;
    scaled = scaled.masked_fill(at::zeros_like(drop_sorted).scatter(-1, order, drop_sorted), minus_inf);
  }
  if (p.min_p > 0.0) {
    const at::Tensor probs = at::softmax(scaled, -1);
    const at::Tensor threshold = probs.amax(-1, true) * p.min_p;  // [rows, 1]
    scaled = scaled.masked_fill(probs < threshold, minus_inf);
  }
  return scaled;
}

at::Tensor sample(const at::Tensor& logits, const SamplingParams& p, at::Generator& generator) {
  const at::Tensor probs = at::softmax(filtered_logits(logits, p), -1);  // [rows, vocab]
  return at::multinomial(probs, 1, false, generator).squeeze(-1);
}

}  // namespace aha::rollout
