// The GRPO objective per token: a clipped importance ratio times the advantage, plus the k3 KL
// estimate against the reference, aggregated as grpo, bnpo, dr_grpo or dapo. Every aggregation
// divides by counts of the whole optimizer step, so the losses of its micro-batches add up to
// the step's loss and the gradient does not depend on how the step is split.
#pragma once

#include <ATen/core/Tensor.h>

#include "rl/training_sections.hpp"

namespace aha::rl {

// Counts over the whole optimizer step.
struct StepCounts {
  int64_t sequences = 0;       // completions in the step
  int64_t tokens = 0;          // completion tokens in the step (under the mask)
  int64_t max_new_tokens = 0;  // the rollout limit (dr_grpo's constant)
};

// One micro-batch. All [batch, seq] float32 except advantages [batch].
struct LossInputs {
  at::Tensor logp;      // the policy's log-probs of the sampled tokens (differentiable)
  at::Tensor old_logp;  // log-probs under the weights that sampled (or the previous iteration)
  at::Tensor ref_logp;  // log-probs under the frozen reference; undefined when beta = 0
  at::Tensor advantages;
  at::Tensor mask;  // 1 for completion tokens that count
};

struct LossOutput {
  at::Tensor loss;  // this micro-batch's share of the step loss (scalar, differentiable)
  // Masked token sums for the step's metrics, float64 scalars without gradient, read once per step:
  // divide by the step's token count.
  at::Tensor kl_sum;  // zero when beta = 0
  // Tokens whose ratio < 1 - epsilon_low with a negative advantage, and > 1 + epsilon_high with
  // a positive one; at the sequence level, clipped sequences times the step's tokens per sequence,
  // so that the step's share is TRL's share of sequences.
  at::Tensor clipped_low, clipped_high;
};

LossOutput grpo_loss(const LossInputs& in, const GrpoSection& grpo, const StepCounts& step);

}  // namespace aha::rl
