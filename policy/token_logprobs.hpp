// Log-probabilities of given tokens under temperature-scaled logits, computed from the final
// hidden states and the LM head in chunks of rows, so the [tokens x vocab] logits and
// log-softmax never exist at once: the forward keeps one logsumexp per row, and the backward
// recomputes each chunk's softmax.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

namespace aha::policy {

// hidden [n, hidden], lm_head [vocab, hidden], targets [n] int64 -> log p(target) [n], float32,
// differentiable with respect to hidden and lm_head. Logits are divided by `temperature`.
// chunk_rows 0: up to 1024 rows, as many as keep a chunk's logits within 128 MiB (221 rows at
// Qwen's 151,669 ids), so the backward's few [rows, vocab] buffers stay small.
at::Tensor token_logprobs(const at::Tensor& hidden, const at::Tensor& lm_head, const at::Tensor& targets,
                          double temperature = 1.0, int64_t chunk_rows = 0);

// token_logprobs, and the entropy of each row's temperature-scaled distribution [n] (float32, no
// gradient) read from the same logits.
std::pair<at::Tensor, at::Tensor> token_logprobs_and_entropy(const at::Tensor& hidden, const at::Tensor& lm_head,
                                                             const at::Tensor& targets, double temperature = 1.0,
                                                             int64_t chunk_rows = 0);

}  // namespace aha::policy
