// grpo_loss: the fused per-token loss (kernels/grpo_token_loss) or GSPO's sequence-level one, the
// rollout correction's weight, the four aggregations, and the clipping and KL statistics.
#include "rl/grpo_loss.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include "kernels/grpo_token_loss.hpp"

namespace aha::rl {

namespace {

// The k3 estimate of KL(pi || pi_ref) per token, differentiable with respect to logp.
at::Tensor k3_kl(const at::Tensor& ref_logp, const at::Tensor& logp) {
  const at::Tensor log_ref_ratio = ref_logp - logp;
  return at::exp(log_ref_ratio) - log_ref_ratio - 1.0;
}

// GSPO: s = exp(mean over the completion of log pi - log pi_old), one clipped ratio per sequence,
// broadcast to its tokens; the KL term stays per token. Returns the per-token loss [b, s] and the
// ratio [b, 1].
std::pair<at::Tensor, at::Tensor> sequence_level_loss(const LossInputs& in, const GrpoSection& grpo) {
  const at::Tensor log_ratio = ((in.logp - in.old_logp) * in.mask).sum(-1, true) /
                               in.mask.sum(-1, true).clamp_min(1.0);  // [b, 1]
  const at::Tensor ratio = at::exp(log_ratio);
  const at::Tensor advantages = in.advantages.unsqueeze(1);  // [b, 1]
  const at::Tensor clipped = at::clamp(ratio, 1.0 - grpo.epsilon_low, 1.0 + grpo.epsilon_high);
  at::Tensor policy = -at::min(ratio * advantages, clipped * advantages);  // [b, 1]
  if (in.correction.defined()) policy = policy * in.correction;
  at::Tensor per_token = policy.expand_as(in.logp);  // [b, s]
  if (grpo.beta != 0.0) per_token = per_token + grpo.beta * k3_kl(in.ref_logp, in.logp);
  return {per_token, ratio.detach()};
}

// The clipped token ratio times the advantage, weighted by the rollout correction, plus the KL
// term: the fused kernel does it all without a correction.
at::Tensor token_level_loss(const LossInputs& in, const GrpoSection& grpo) {
  if (!in.correction.defined())
    return kernels::grpo_token_loss(in.logp, in.old_logp, in.ref_logp, in.advantages,
                                    {grpo.epsilon_low, grpo.epsilon_high, grpo.beta});
  at::Tensor per_token =
      kernels::grpo_token_loss(in.logp, in.old_logp, {}, in.advantages, {grpo.epsilon_low, grpo.epsilon_high, 0.0}) *
      in.correction;
  if (grpo.beta != 0.0) per_token = per_token + grpo.beta * k3_kl(in.ref_logp, in.logp);
  return per_token;
}

}  // namespace

LossOutput grpo_loss(const LossInputs& in, const GrpoSection& grpo, const UpdateCounts& update) {
  const bool by_sequence = grpo.importance_sampling_level == ImportanceSampling::sequence;
  at::Tensor per_token, r;  // [b, s]; the ratio, [b, s] per token or [b, 1] per sequence
  if (by_sequence) {
    std::tie(per_token, r) = sequence_level_loss(in, grpo);
  } else {
    per_token = token_level_loss(in, grpo);
    r = at::exp(in.logp.detach() - in.old_logp);
  }
  LossOutput out;
  if (grpo.beta != 0.0) {
    out.kl_sum = (k3_kl(in.ref_logp, in.logp.detach()) * in.mask).sum().to(at::kDouble);
  } else {
    out.kl_sum = at::zeros({}, in.mask.options().dtype(at::kDouble));
  }
  const at::Tensor masked = per_token * in.mask;  // [b, s]
  const double sequences = static_cast<double>(std::max<int64_t>(update.sequences, 1));
  switch (grpo.loss) {
    case LossAggregation::grpo: out.loss = (masked.sum(-1) / in.mask.sum(-1).clamp_min(1.0)).sum() / sequences; break;
    case LossAggregation::bnpo:
      out.loss = masked.sum() / static_cast<double>(std::max<int64_t>(update.tokens, 1));
      break;
    case LossAggregation::dapo: out.loss = masked.sum() / std::max(update.dapo_tokens, 1.0); break;
    case LossAggregation::dr_grpo:
      out.loss = masked.sum() / (sequences * static_cast<double>(update.max_new_tokens));
      break;
  }
  const at::Tensor advantages = in.advantages.unsqueeze(1);  // [b, 1]
  const at::Tensor low = ((r < 1.0 - grpo.epsilon_low) & (advantages < 0)).to(at::kFloat);
  const at::Tensor high = ((r > 1.0 + grpo.epsilon_high) & (advantages > 0)).to(at::kFloat);
  if (by_sequence) {  // TRL counts clipped sequences: each weighs as the step's mean tokens per sequence
    const double tokens_per_sequence = static_cast<double>(update.tokens) / sequences;
    out.clipped_low = low.sum().to(at::kDouble) * tokens_per_sequence;
    out.clipped_high = high.sum().to(at::kDouble) * tokens_per_sequence;
  } else {
    out.clipped_low = (low * in.mask).sum().to(at::kDouble);
    out.clipped_high = (high * in.mask).sum().to(at::kDouble);
  }
  return out;
}

}  // namespace aha::rl
