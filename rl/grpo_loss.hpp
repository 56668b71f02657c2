// The GRPO objective per token: a clipped importance ratio times the advantage, plus the k3 KL
// estimate against the reference, aggregated as grpo, bnpo, dr_grpo or dapo; with rollout
// correction, the policy term weighted by rl/rollout_correction's ratio. Every aggregation divides
// by counts of the whole optimizer update, so the losses of its micro-batches add up to the
// update's loss and the gradient does not depend on how the update is split.
#pragma once

#include <ATen/core/Tensor.h>

#include "rl/training_sections.hpp"

namespace aha::rl {

// Counts over one optimizer update: the whole step, or one of its grpo.mini_batches parts.
struct UpdateCounts {
  int64_t sequences = 0;       // completions in the update
  int64_t tokens = 0;          // completion tokens in the update (under the mask): bnpo's divisor
  int64_t max_new_tokens = 0;  // the rollout limit (dr_grpo's constant)
  // dapo's divisor: the step's completion tokens / grpo.mini_batches, as TRL divides each update
  // by num_items_in_batch of the whole generation batch over steps_per_generation.
  double dapo_tokens = 0.0;
};

// One micro-batch. All [batch, seq] float32 except advantages [batch].
struct LossInputs {
  at::Tensor logp;      // the policy's log-probs of the sampled tokens (differentiable)
  at::Tensor old_logp;  // log-probs under the weights that sampled (or the previous iteration)
  at::Tensor ref_logp;  // log-probs under the frozen reference; undefined when beta = 0
  at::Tensor advantages;
  at::Tensor mask;  // 1 for completion tokens that count
  // The rollout correction's weight of each token's policy term, [batch, seq] or [batch, 1],
  // without gradient; undefined: no correction.
  at::Tensor correction;
};

struct LossOutput {
  at::Tensor loss;  // this micro-batch's share of the update's loss (scalar, differentiable)
  // Masked token sums for the step's metrics, float64 scalars without gradient, read once per step:
  // divide by the update's token count.
  at::Tensor kl_sum;  // zero when beta = 0
  // Tokens whose ratio < 1 - epsilon_low with a negative advantage, and > 1 + epsilon_high with
  // a positive one; at the sequence level, clipped sequences times the update's tokens per
  // sequence, so that the update's share is TRL's share of sequences.
  at::Tensor clipped_low, clipped_high;
};

LossOutput grpo_loss(const LossInputs& in, const GrpoSection& grpo, const UpdateCounts& update);

}  // namespace aha::rl
