// Rollout correction: when the sampler's log-probs differ from the trainer's (remote workers,
// model.batch_invariant = false, GPUs, rollout.max_staleness > 0), each token's policy loss is
// weighted by the ratio between the trainer's log-probs before the step and the sampler's,
//   token modes:    r[b, t] = exp(old[b, t] - sampling[b, t])
//   sequence modes: r[b]    = exp(sum over b's tokens of old - sampling)
// truncated to [floor, cap] (…_truncate) or set to 0 outside it (…_mask), as TRL's
// vllm_importance_sampling_mode computes it.
#pragma once

#include <ATen/core/Tensor.h>

#include "rl/training_sections.hpp"

namespace aha::rl {

// What one micro-batch adds to the step's correction statistics, over its masked tokens (token
// modes) or its rows (sequence modes), of the weight after truncation or masking.
enum CorrectionSum { kWeightSum, kWeightCount, kOutside, kWeightMin, kWeightMax, kCorrectionSums };

struct RolloutCorrectionWeight {
  at::Tensor weight;  // [b, s] (token modes) or [b, 1] (sequence modes), no gradient
  at::Tensor sums;    // [kCorrectionSums] float64; kOutside counts the raw ratios outside [floor, cap]
};

// old_logp, sampling_logp, mask [b, s] float32; grpo.rollout_correction must not be none.
RolloutCorrectionWeight rollout_correction(const at::Tensor& old_logp, const at::Tensor& sampling_logp,
                                           const at::Tensor& mask, const GrpoSection& grpo);

}  // namespace aha::rl
