// Draws the next token of each row from temperature-scaled logits after the top-k, top-p and
// min-p filters (applied in that order, as transformers' logits processors do).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace aha::rollout {

struct SamplingParams {
  double temperature = 1.0;
  int top_k = 0;       // 0: off
  double top_p = 1.0;  // 1: off
  double min_p = 0.0;  // 0: off
};

// logits [rows, vocab] -> one token per row [rows] int64; `generator` makes the draw reproducible.
at::Tensor sample(const at::Tensor& logits, const SamplingParams& params, at::Generator& generator);

// The filters alone: logits / temperature with filtered entries set to -inf. [rows, vocab]
at::Tensor filtered_logits(const at::Tensor& logits, const SamplingParams& params);

}  // namespace aha::rollout
