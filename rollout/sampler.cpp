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

namespace {

// One draw per row through the inverse of its cumulative distribution: a uniform u in [0, 1)
// per row, and the first token whose running probability passes u times the row's total. One
// random number per row, where a race of exponentials (at::multinomial) needs a logarithm per token.
at::Tensor inverse_cdf_draw(const at::Tensor& probs, at::Generator& generator) {
  const at::Tensor cdf = probs.cumsum(-1);                       // [rows, vocab], nondecreasing
  const at::Tensor total = cdf.narrow(-1, cdf.size(-1) - 1, 1);  // [rows, 1]
  TORCH_CHECK(at::isfinite(total).all().item<bool>(),
              "sample: the probabilities of a row are not finite (its logits hold ",
              "nan or inf, or every token was filtered out)");
  const at::Tensor target = at::rand({probs.size(0), 1}, generator, probs.options()) * total;
  // The tokens before the drawn one are those whose running sum has not passed the target; one
  // that rounds up to the total still lands on the last token with mass.
  return ((cdf <= target) & (cdf < total)).sum(-1);
}

}  // namespace

at::Tensor sample(const at::Tensor& logits, const SamplingParams& p, at::Generator& generator) {
  return inverse_cdf_draw(at::softmax(filtered_logits(logits, p), -1), generator);  // [rows]
}

}  // namespace aha::rollout
