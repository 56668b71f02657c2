// The log-probability of one chosen token per row, and optionally the row's entropy, read from
// logits in one pass: the [rows x vocab] log-softmax is never written. The backward writes
// d logp / d logit_j = scale * (1[j = target] - softmax_j) from the saved log-sum-exp.
// CUDA kernels on GPUs, a row-parallel loop on the CPU; kernels/reference.hpp holds the ATen
// formula both are tested against.
#pragma once

#include <ATen/core/Tensor.h>

namespace aha::kernels {

struct SelectedLogprobs {
  at::Tensor logprobs;   // [n] float32: log softmax(scale * logits)[target]
  at::Tensor logsumexp;  // [n] float32: log sum_j exp(scale * logit_j)
  at::Tensor entropy;    // [n] float32, or undefined unless asked for
};

// logits [n, vocab] float32 or bfloat16, targets [n] int64. `scale` multiplies the logits first
// (1 / temperature). No gradient is recorded.
SelectedLogprobs selective_log_softmax(const at::Tensor& logits, const at::Tensor& targets, double scale = 1.0,
                                       bool with_entropy = false);

// grad_logprobs [n] -> grad_logits [n, vocab] in the logits' dtype.
at::Tensor selective_log_softmax_backward(const at::Tensor& grad_logprobs, const at::Tensor& logits,
                                          const at::Tensor& targets, const at::Tensor& logsumexp, double scale);

// log softmax(scale * logits)[target] [n], differentiable with respect to the logits.
at::Tensor selected_logprobs(const at::Tensor& logits, const at::Tensor& targets, double scale = 1.0);

}  // namespace aha::kernels
