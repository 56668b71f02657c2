// Attention over a padded batch: grouped-query attention (llama, qwen2, qwen3 with per-head q/k
// RMSNorm) and DeepSeek's multi-head latent attention in its plain (expanded) form. Both run
// through at::scaled_dot_product_attention and append to a per-layer KV cache when given one.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "policy/layers.hpp"
#include "policy/model_config.hpp"

namespace aha::policy {

// What every layer of one forward pass shares.
struct AttentionInputs {
  at::Tensor cos, sin;  // [batch, seq, rotary_dim]
  at::Tensor mask;      // [batch, 1, seq, keys] bool: true where a query may attend a key
  const Rotary* rotary = nullptr;
};

// Keys and values of the tokens seen so far, for one layer.
struct LayerCache {
  at::Tensor keys, values;  // [batch, kv_heads, past, head_dim]
  // Appends and returns everything cached: [batch, kv_heads, past + seq, head_dim].
  std::pair<at::Tensor, at::Tensor> append(const at::Tensor& k, const at::Tensor& v);
};

class GroupedQueryAttentionImpl : public torch::nn::Module {
 public:
  explicit GroupedQueryAttentionImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in, LayerCache* cache);  // [b, s, hidden]

 private:
  int64_t heads_, kv_heads_, head_dim_;
  torch::nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
  RMSNorm q_norm_{nullptr}, k_norm_{nullptr};
};
TORCH_MODULE(GroupedQueryAttention);

class LatentAttentionImpl : public torch::nn::Module {
 public:
  explicit LatentAttentionImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in, LayerCache* cache);  // [b, s, hidden]

 private:
  int64_t heads_, nope_dim_, rope_dim_, v_dim_, kv_rank_;
  double scale_;
  torch::nn::Linear q_proj_{nullptr}, q_a_proj_{nullptr}, q_b_proj_{nullptr};
  RMSNorm q_a_layernorm_{nullptr}, kv_a_layernorm_{nullptr};
  torch::nn::Linear kv_a_proj_with_mqa_{nullptr}, kv_b_proj_{nullptr}, o_proj_{nullptr};
};
TORCH_MODULE(LatentAttention);

}  // namespace aha::policy
