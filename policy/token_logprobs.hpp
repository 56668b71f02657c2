// Log-probabilities of given tokens under temperature-scaled logits, computed from the final
// hidden states and the LM head in chunks of rows, so the [tokens x vocab] logits and
// log-softmax never exist at once: the forward keeps one logsumexp per row, and the backward
// recomputes each chunk's softmax.
#pragma once

#include <ATen/core/Tensor.h>

namespace aha::policy {

// hidden [n, hidden], lm_head [vocab, hidden], targets [n] int64 -> log p(target) [n], float32,
// differentiable with respect to hidden and lm_head. Logits are divided by `temperature`.
at::Tensor token_logprobs(const at::Tensor& hidden, const at::Tensor& lm_head, const at::Tensor& targets,
                          double temperature = 1.0, int64_t chunk_rows = 1024);

// Entropy of each row's temperature-scaled distribution [n], float32, without gradient.
at::Tensor token_entropy(const at::Tensor& hidden, const at::Tensor& lm_head, double temperature = 1.0,
                         int64_t chunk_rows = 1024);

}  // namespace aha::policy
