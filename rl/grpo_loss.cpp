// grpo_loss: the fused per-token loss (kernels/grpo_token_loss), its four aggregations and the
// clipping and KL statistics.
#include "rl/grpo_loss.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "kernels/grpo_token_loss.hpp"

namespace aha::rl {

LossOutput grpo_loss(const LossInputs& in, const GrpoSection& grpo, const StepCounts& step) {
  const at::Tensor per_token = kernels::grpo_token_loss(
      in.logp, in.old_logp, in.ref_logp, in.advantages, {grpo.epsilon_low, grpo.epsilon_high, grpo.beta});  // [b, s]
  LossOutput out;
  if (grpo.beta != 0.0) {
    const at::Tensor log_ref_ratio = in.ref_logp - in.logp.detach();
    const at::Tensor kl = at::exp(log_ref_ratio) - log_ref_ratio - 1.0;  // [b, s], k3
    out.kl_sum = (kl * in.mask).sum().item<double>();
  }
  const at::Tensor masked = per_token * in.mask;  // [b, s]
  const double sequences = static_cast<double>(std::max<int64_t>(step.sequences, 1));
  switch (grpo.loss) {
    case LossAggregation::grpo:
      out.loss = (masked.sum(-1) / in.mask.sum(-1).clamp_min(1.0)).sum() / sequences;
      break;
    case LossAggregation::bnpo:
    case LossAggregation::dapo:
      out.loss = masked.sum() / static_cast<double>(std::max<int64_t>(step.tokens, 1));
      break;
    case LossAggregation::dr_grpo:
      out.loss = masked.sum() / (sequences * static_cast<double>(step.max_new_tokens));
      break;
  }
  const at::Tensor advantages = in.advantages.unsqueeze(1);   // [b, 1]
  const at::Tensor r = at::exp(in.logp.detach() - in.old_logp);  // [b, s]
  out.clipped_low = (((r < 1.0 - grpo.epsilon_low) & (advantages < 0)).to(at::kFloat) * in.mask).sum().item<double>();
  out.clipped_high = (((r > 1.0 + grpo.epsilon_high) & (advantages > 0)).to(at::kFloat) * in.mask).sum().item<double>();
  out.tokens = in.mask.sum().item<double>();
  return out;
}

}  // namespace aha::rl
