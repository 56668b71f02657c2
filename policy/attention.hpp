// Attention over a padded batch: grouped-query attention (llama, qwen2, qwen3 with per-head q/k
// RMSNorm) and DeepSeek's multi-head latent attention in its plain (expanded) form. Both write
// their keys and values into a per-layer cache indexed by position, and attend over it: through
// at::scaled_dot_product_attention on GPUs, through a batch-invariant chunked attention on the CPU.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "policy/layers.hpp"
#include "policy/model_config.hpp"

namespace aha::policy {

// What every layer of one forward pass shares.
struct AttentionInputs {
  at::Tensor cos, sin;  // [batch, seq, rotary_dim]
  const Rotary* rotary = nullptr;
  at::Tensor query_positions;  // [batch, seq] int64: a query sees the keys at or before its position (padding: -1)
  at::Tensor key_lengths;      // [batch] int64: the keys of each row once this pass is cached
  at::Tensor write_slots;      // [batch, seq] int64: the cache slot of each new key; padding goes to the sink
  int64_t capacity = 0;        // positions per row in the cache; slot `capacity` is the sink
  int64_t key_span = 0;        // positions attended: the longest row
  // A padding-free pass: the flat index [n] into [batch * seq] of the real tokens. The layers see
  // x [n, hidden] and only attention lays its queries, keys and values out as [batch, seq].
  // Undefined: x is [batch, seq, hidden], padding included.
  at::Tensor packed;
  int64_t batch = 0, seq = 0;
  // A pass over packed sequences (CausalLM::forward_packed): x is [n, hidden], one row per token,
  // and attention runs kernels::packed_attention over these blocks [m, 4]; no cache is written.
  at::Tensor blocks;
};

// x [n, c] of a padding-free pass -> [batch, seq, c] with zero rows at the padding; x itself otherwise.
at::Tensor padded(const at::Tensor& x, const AttentionInputs& in);
// x [batch, seq, c] -> [n, c] of the real tokens in a padding-free pass; x itself otherwise.
at::Tensor packed(const at::Tensor& x, const AttentionInputs& in);

// Keys and values of one layer, indexed by position: [batch, kv_heads, capacity + 1, head_dim].
// Every row's first token sits at slot 0 whatever the padding of the passes that wrote it, so
// sampling and training see the same keys in the same places.
struct LayerCache {
  at::Tensor keys, values;
  // Writes the pass's keys and values [batch, kv_heads, seq, dim] at their slots and returns the
  // first key_span positions of each.
  std::pair<at::Tensor, at::Tensor> store(const at::Tensor& k, const at::Tensor& v, const AttentionInputs& in);
};

// softmax(q k^T * scale) v over the keys each query may see: q [b, heads, s, d], keys
// [b, kv_heads, span, d], values [b, kv_heads, span, dv] -> [b, heads, s, dv]. Query head i uses
// key head i / (heads / kv_heads). On the CPU (batch-invariant) each query runs alone through
// kernels::invariant_attention, so its output does not depend on the span or the other queries;
// elsewhere it is scaled_dot_product_attention.
at::Tensor attend(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, const AttentionInputs& in,
                  double scale);

class GroupedQueryAttentionImpl : public torch::nn::Module {
 public:
  explicit GroupedQueryAttentionImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in, LayerCache& cache);  // [b, s, hidden]

 private:
  at::Tensor forward_packed(const at::Tensor& x, const AttentionInputs& in);  // x [n, hidden]
  int64_t heads_, kv_heads_, head_dim_;
  double scale_;
  torch::nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
  RMSNorm q_norm_{nullptr}, k_norm_{nullptr};
};
TORCH_MODULE(GroupedQueryAttention);

class LatentAttentionImpl : public torch::nn::Module {
 public:
  explicit LatentAttentionImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in, LayerCache& cache);  // [b, s, hidden]

 private:
  int64_t heads_, nope_dim_, rope_dim_, v_dim_, kv_rank_;
  double scale_;
  torch::nn::Linear q_proj_{nullptr}, q_a_proj_{nullptr}, q_b_proj_{nullptr};
  RMSNorm q_a_layernorm_{nullptr}, kv_a_layernorm_{nullptr};
  torch::nn::Linear kv_a_proj_with_mqa_{nullptr}, kv_b_proj_{nullptr}, o_proj_{nullptr};
};
TORCH_MODULE(LatentAttention);

}  // namespace aha::policy
