// The GRPO loss of each token in one fused pass, forward and backward:
//   w = exp(logp - old_logp)
//   loss = -min(w * A, clip(w, 1 - epsilon_low, 1 + epsilon_high) * A) + beta * (exp(ref - logp) - (ref - logp) - 1)
//   d loss / d logp = -A * w  where the unclipped term is the minimum (else 0)  + beta * (1 - exp(ref - logp))
// Aggregation over tokens (grpo, bnpo, dr_grpo, dapo) stays with the caller (rl/grpo_loss).
// CUDA kernels on GPUs, a loop on the CPU; kernels/reference.hpp holds the ATen formula.
#pragma once

#include <ATen/core/Tensor.h>

namespace aha::kernels {

struct GrpoTokenLossOptions {
  double epsilon_low = 0.2;
  double epsilon_high = 0.2;
  double beta = 0.0;
};

// logp, old_logp [batch, seq] float32 (ref_logp too; undefined when beta = 0), advantages [batch]
// -> per-token loss [batch, seq] float32, differentiable with respect to logp.
at::Tensor grpo_token_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& ref_logp,
                           const at::Tensor& advantages, const GrpoTokenLossOptions& options);

}  // namespace aha::kernels
