// The plain ATen formulas the kernels are tested against: each written the obvious way, with
// whole [rows x vocab] tensors and autograd doing the backward.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

#include "kernels/grpo_token_loss.hpp"

namespace aha::kernels::reference {

// log_softmax(scale * logits)[target]: [n] float32, differentiable.
at::Tensor selected_logprobs(const at::Tensor& logits, const at::Tensor& targets, double scale);
// -sum p log p of softmax(scale * logits): [n] float32.
at::Tensor entropy(const at::Tensor& logits, double scale);

// The GRPO per-token loss [batch, seq], differentiable with respect to logp.
at::Tensor grpo_token_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& ref_logp,
                           const at::Tensor& advantages, const GrpoTokenLossOptions& options);

// Causal attention with a boolean mask: query (row, i) sees keys j <= query_positions[row, i] and
// j < key_lengths[row], and key 0 always. Shapes as kernels/invariant_attention.hpp.
at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                            const at::Tensor& query_positions, const at::Tensor& key_lengths, double scale);

// A mixture-of-experts layer written densely: every expert on every token, masked by a one-hot
// of the routing. x [n, hidden], experts [n, k], weights [n, k], expert(e, rows) -> rows' output.
at::Tensor moe_dense(const at::Tensor& x, const at::Tensor& experts, const at::Tensor& weights, int64_t num_experts,
                     const std::function<at::Tensor(int64_t, const at::Tensor&)>& expert);

}  // namespace aha::kernels::reference
