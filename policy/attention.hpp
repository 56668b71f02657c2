// Attention over one forward pass: grouped-query attention (llama, qwen2, qwen3 with per-head q/k
// RMSNorm) and DeepSeek's multi-head latent attention in its plain (expanded) form. A pass names
// its layout (AttentionLayout): padded rows, unpadded rows (the real tokens of padded rows), or
// packed sequences. Over rows, both write their keys and values into a per-layer cache indexed by
// position and attend over it: through at::scaled_dot_product_attention on GPUs, through a
// batch-invariant chunked attention on the CPU. Packed sequences (grouped-query attention only)
// run kernels::packed_attention and keep no cache.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <variant>

#include "policy/layers.hpp"
#include "policy/model_config.hpp"

namespace aha::policy {

// The layers see x [batch, seq, hidden], padding included.
struct PaddedRows {};

// Padded rows with the padding left out: the layers see x [n, hidden], the n real tokens, and only
// attention lays its queries, keys and values out as [batch, seq] (CausalLM::forward).
struct UnpaddedRows {
  at::Tensor tokens;  // [n] int64: the flat index into [batch * seq] of the real tokens
  int64_t batch = 0, seq = 0;
};

// Sequences packed one after the other (CausalLM::forward_packed): x is [n, hidden], one row per
// token, and attention runs kernels::packed_attention over the blocks; no cache is written.
struct PackedSequences {
  at::Tensor blocks;  // [m, 4] int64, as kernels/packed_attention.hpp lays them out
};

using AttentionLayout = std::variant<PaddedRows, UnpaddedRows, PackedSequences>;

// What every layer of one forward pass shares. The fields from query_positions to key_span serve
// the row layouts only.
struct AttentionInputs {
  AttentionLayout layout;  // PaddedRows unless set
  at::Tensor cos, sin;     // [batch, seq, rotary_dim]; packed sequences: [n, 1, rotary_dim]
  const Rotary* rotary = nullptr;
  at::Tensor query_positions;  // [batch, seq] int64: a query sees the keys at or before its position (padding: -1)
  at::Tensor key_lengths;      // [batch] int64: the keys of each row once this pass is cached
  at::Tensor write_slots;      // [batch, seq] int64: the cache slot of each new key; padding goes to the sink
  int64_t capacity = 0;        // positions per row in the cache; slot `capacity` is the sink
  int64_t key_span = 0;        // positions attended: the longest row
};

// x [n, c] of unpadded rows -> [batch, seq, c] with zero rows at the padding; x itself in the other layouts.
at::Tensor pad_rows(const at::Tensor& x, const AttentionLayout& layout);
// x [batch, seq, c] -> [n, c] of the real tokens of unpadded rows; x itself in the other layouts.
at::Tensor unpad_rows(const at::Tensor& x, const AttentionLayout& layout);

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
  // x [batch, seq, hidden] or [n, hidden], as the layout says -> the same shape
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in, LayerCache& cache);

 private:
  // x [n, hidden] -> [n, hidden]
  at::Tensor forward_packed(const at::Tensor& x, const AttentionInputs& in, const PackedSequences& packed);
  int64_t heads_, kv_heads_, head_dim_;
  double scale_;
  torch::nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
  RMSNorm q_norm_{nullptr}, k_norm_{nullptr};
};
TORCH_MODULE(GroupedQueryAttention);

class LatentAttentionImpl : public torch::nn::Module {
 public:
  explicit LatentAttentionImpl(const ModelConfig& config);
  // x [batch, seq, hidden] or [n, hidden] of unpadded rows -> the same shape; no packed sequences
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in, LayerCache& cache);

 private:
  int64_t heads_, nope_dim_, rope_dim_, v_dim_, kv_rank_;
  double scale_;
  torch::nn::Linear q_proj_{nullptr}, q_a_proj_{nullptr}, q_b_proj_{nullptr};
  RMSNorm q_a_layernorm_{nullptr}, kv_a_layernorm_{nullptr};
  torch::nn::Linear kv_a_proj_with_mqa_{nullptr}, kv_b_proj_{nullptr}, o_proj_{nullptr};
};
TORCH_MODULE(LatentAttention);

}  // namespace aha::policy
