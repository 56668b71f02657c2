// rollout_correction: the truncated or masked ratio between the trainer's and the sampler's log-probs.
#include "rl/rollout_correction.hpp"

#include <ATen/ATen.h>

#include <limits>

namespace aha::rl {

RolloutCorrectionWeight rollout_correction(const at::Tensor& old_logp, const at::Tensor& sampling_logp,
                                           const at::Tensor& mask, const GrpoSection& grpo) {
  const RolloutCorrection mode = grpo.rollout_correction;
  const bool by_sequence = mode == RolloutCorrection::sequence_truncate || mode == RolloutCorrection::sequence_mask;
  const bool truncate = mode == RolloutCorrection::token_truncate || mode == RolloutCorrection::sequence_truncate;
  const at::Tensor log_ratio = (old_logp - sampling_logp) * mask;                       // [b, s]
  const at::Tensor ratio = at::exp(by_sequence ? log_ratio.sum(-1, true) : log_ratio);  // [b, 1] or [b, s]
  const double floor = grpo.rollout_correction_floor, cap = grpo.rollout_correction_cap;
  const at::Tensor outside = (ratio < floor) | (ratio > cap);
  const at::Tensor weight = truncate ? ratio.clamp(floor, cap) : ratio.masked_fill(outside, 0.0);
  // The elements the statistics run over: every row, or the masked tokens.
  const at::Tensor counted = by_sequence ? at::ones_like(weight, at::kBool) : mask > 0;
  const double inf = std::numeric_limits<double>::infinity();
  const at::Tensor w = weight.to(at::kDouble);
  RolloutCorrectionWeight out;
  out.weight = weight;
  out.sums = at::stack({at::where(counted, w, 0.0).sum(), counted.sum().to(at::kDouble),
                        (outside & counted).sum().to(at::kDouble), at::where(counted, w, inf).min(),
                        at::where(counted, w, -inf).max()});
  return out;
}

}  // namespace aha::rl
