// Grouped-query and multi-head latent attention, over padded rows, unpadded rows or packed sequences.
#include "policy/attention.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <variant>

#include "kernels/batch_invariant.hpp"
#include "kernels/invariant_attention.hpp"
#include "kernels/packed_attention.hpp"

namespace aha::policy {

namespace {

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// [b, s, heads * dim] -> [b, heads, s, dim]
at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, -1}).transpose(1, 2);
}

// [b, heads, s, dim] -> [b, s, heads * dim]
at::Tensor merge_heads(const at::Tensor& x) { return x.transpose(1, 2).reshape({x.size(0), x.size(2), -1}); }

}  // namespace

// x [b, heads, seq, dim] written into `buffer` [b, heads, capacity + 1, dim] at `slots` [b, seq];
// the buffer is made, or grown, to the capacity first. The write is in place, under autograd too:
// a training pass writes each buffer once (a shared prefix's rows are a copy, made by select_rows).
at::Tensor written(at::Tensor buffer, const at::Tensor& x, const at::Tensor& slots, int64_t capacity) {
  const int64_t b = x.size(0), heads = x.size(1), seq = x.size(2), dim = x.size(3);
  if (!buffer.defined()) {
    buffer = at::zeros({b, heads, capacity + 1, dim}, x.options());
  } else if (buffer.size(2) < capacity + 1) {
    const int64_t kept = buffer.size(2) - 1;
    buffer = at::cat({buffer.narrow(2, 0, kept), at::zeros({b, heads, capacity + 1 - kept, dim}, x.options())}, 2);
  }
  const at::Tensor index = slots.view({b, 1, seq, 1}).expand({b, heads, seq, dim});
  return buffer.scatter_(2, index, x);
}

at::Tensor pad_rows(const at::Tensor& x, const AttentionLayout& layout) {
  const auto* rows = std::get_if<UnpaddedRows>(&layout);
  if (!rows) return x;
  const int64_t width = x.size(-1);
  // In place into fresh zeros (autograd records it like the copy), so the zeros are not cloned.
  return at::zeros({rows->batch * rows->seq, width}, x.options())
      .index_copy_(0, rows->tokens, x)
      .view({rows->batch, rows->seq, width});
}

at::Tensor unpad_rows(const at::Tensor& x, const AttentionLayout& layout) {
  const auto* rows = std::get_if<UnpaddedRows>(&layout);
  if (!rows) return x;
  return x.reshape({rows->batch * rows->seq, x.size(-1)}).index_select(0, rows->tokens);
}

std::pair<at::Tensor, at::Tensor> LayerCache::store(const at::Tensor& k, const at::Tensor& v,
                                                    const AttentionInputs& in) {
  keys = written(keys, k, in.write_slots, in.capacity);
  values = written(values, v, in.write_slots, in.capacity);
  return {keys.narrow(2, 0, in.key_span), values.narrow(2, 0, in.key_span)};
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, const AttentionInputs& in,
                  double scale) {
  if (kernels::batch_invariant(q))
    return kernels::invariant_attention(q, keys, values, in.query_positions, in.key_lengths, scale);
  const int64_t b = q.size(0), span = keys.size(2);
  const at::Tensor key_position = at::arange(span, in.query_positions.options()).view({1, 1, span});
  // [b, s, span]: the row's keys at or before the query; key 0 always, so padding queries stay finite.
  const at::Tensor allowed =
      ((key_position <= in.query_positions.unsqueeze(-1)) & (key_position < in.key_lengths.view({b, 1, 1}))) |
      (key_position == 0);
  return at::scaled_dot_product_attention(q, keys, values, allowed.unsqueeze(1), 0.0, false, scale,
                                          /*enable_gqa=*/q.size(1) != keys.size(1));
}

GroupedQueryAttentionImpl::GroupedQueryAttentionImpl(const ModelConfig& c)
    : heads_(c.num_heads),
      kv_heads_(c.num_kv_heads),
      head_dim_(c.head_dim),
      scale_(1.0 / std::sqrt(static_cast<double>(c.head_dim))) {
  q_proj_ = register_module("q_proj", linear(c.hidden_size, heads_ * head_dim_, c.attention_bias));
  k_proj_ = register_module("k_proj", linear(c.hidden_size, kv_heads_ * head_dim_, c.attention_bias));
  v_proj_ = register_module("v_proj", linear(c.hidden_size, kv_heads_ * head_dim_, c.attention_bias));
  o_proj_ = register_module("o_proj", linear(heads_ * head_dim_, c.hidden_size, false));
  if (c.qk_norm) {
    q_norm_ = register_module("q_norm", RMSNorm(head_dim_, c.rms_norm_eps));
    k_norm_ = register_module("k_norm", RMSNorm(head_dim_, c.rms_norm_eps));
  }
}

at::Tensor GroupedQueryAttentionImpl::forward(const at::Tensor& x, const AttentionInputs& in, LayerCache& cache) {
  if (const auto* packed = std::get_if<PackedSequences>(&in.layout)) return forward_packed(x, in, *packed);
  at::Tensor q = split_heads(pad_rows(project(q_proj_, x), in.layout), heads_);     // [b, h, s, d]
  at::Tensor k = split_heads(pad_rows(project(k_proj_, x), in.layout), kv_heads_);  // [b, kv, s, d]
  at::Tensor v = split_heads(pad_rows(project(v_proj_, x), in.layout), kv_heads_);  // [b, kv, s, d]
  if (q_norm_) {
    q = q_norm_(q);
    k = k_norm_(k);
  }
  q = in.rotary->apply(q, in.cos, in.sin);
  k = in.rotary->apply(k, in.cos, in.sin);
  const auto [keys, values] = cache.store(k, v, in);  // [b, kv, span, d]
  return project(o_proj_, unpad_rows(merge_heads(attend(q, keys, values, in, scale_)), in.layout));
}

at::Tensor GroupedQueryAttentionImpl::forward_packed(const at::Tensor& x, const AttentionInputs& in,
                                                     const PackedSequences& packed) {
  const int64_t n = x.size(0);
  // One token per row, laid out [n, heads, 1, d] for the rotary kernel's [b, heads, s, d].
  at::Tensor q = project(q_proj_, x).view({n, heads_, 1, head_dim_});
  at::Tensor k = project(k_proj_, x).view({n, kv_heads_, 1, head_dim_});
  const at::Tensor v = project(v_proj_, x).view({n, kv_heads_, head_dim_});
  if (q_norm_) {
    q = q_norm_(q);
    k = k_norm_(k);
  }
  q = in.rotary->apply(q, in.cos, in.sin);
  k = in.rotary->apply(k, in.cos, in.sin);
  const at::Tensor out = kernels::packed_attention(q.view({n, heads_, head_dim_}), k.view({n, kv_heads_, head_dim_}), v,
                                                   packed.blocks, scale_);  // [n, heads, d]
  return project(o_proj_, out.view({n, heads_ * head_dim_}));
}

LatentAttentionImpl::LatentAttentionImpl(const ModelConfig& c)
    : heads_(c.num_heads),
      nope_dim_(c.qk_nope_head_dim),
      rope_dim_(c.qk_rope_head_dim),
      v_dim_(c.v_head_dim),
      kv_rank_(c.kv_lora_rank) {
  const int64_t qk_dim = nope_dim_ + rope_dim_;
  scale_ = 1.0 / std::sqrt(static_cast<double>(qk_dim));
  if (c.rope_scaling.type == "yarn" && c.rope_scaling.mscale_all_dim != 0.0) {
    const double m = yarn_mscale(c.rope_scaling.factor, c.rope_scaling.mscale_all_dim);
    scale_ *= m * m;
  }
  if (c.q_lora_rank == 0) {
    q_proj_ = register_module("q_proj", linear(c.hidden_size, heads_ * qk_dim, false));
  } else {
    q_a_proj_ = register_module("q_a_proj", linear(c.hidden_size, c.q_lora_rank, c.attention_bias));
    q_a_layernorm_ = register_module("q_a_layernorm", RMSNorm(c.q_lora_rank, c.rms_norm_eps));
    q_b_proj_ = register_module("q_b_proj", linear(c.q_lora_rank, heads_ * qk_dim, false));
  }
  kv_a_proj_with_mqa_ =
      register_module("kv_a_proj_with_mqa", linear(c.hidden_size, kv_rank_ + rope_dim_, c.attention_bias));
  kv_a_layernorm_ = register_module("kv_a_layernorm", RMSNorm(kv_rank_, c.rms_norm_eps));
  kv_b_proj_ = register_module("kv_b_proj", linear(kv_rank_, heads_ * (nope_dim_ + v_dim_), false));
  o_proj_ = register_module("o_proj", linear(heads_ * v_dim_, c.hidden_size, c.attention_bias));
}

at::Tensor LatentAttentionImpl::forward(const at::Tensor& x, const AttentionInputs& in, LayerCache& cache) {
  TORCH_CHECK(!std::holds_alternative<PackedSequences>(in.layout),
              "latent attention has no packed pass: use CausalLM::forward");
  const at::Tensor q_flat =
      pad_rows(q_proj_ ? project(q_proj_, x) : project(q_b_proj_, q_a_layernorm_(project(q_a_proj_, x))), in.layout);
  const int64_t b = q_flat.size(0), s = q_flat.size(1);
  const at::Tensor q = split_heads(q_flat, heads_);  // [b, h, s, nope + rope]
  const at::Tensor q_nope = q.narrow(-1, 0, nope_dim_);
  const at::Tensor q_rope = in.rotary->apply(q.narrow(-1, nope_dim_, rope_dim_), in.cos, in.sin);

  const at::Tensor compressed = pad_rows(project(kv_a_proj_with_mqa_, x), in.layout);  // [b, s, kv_rank + rope]
  const at::Tensor kv_latent = kv_a_layernorm_(compressed.narrow(-1, 0, kv_rank_));
  at::Tensor k_rope = compressed.narrow(-1, kv_rank_, rope_dim_).view({b, 1, s, rope_dim_});
  k_rope = in.rotary->apply(k_rope, in.cos, in.sin).expand({b, heads_, s, rope_dim_});
  const at::Tensor kv = split_heads(project(kv_b_proj_, kv_latent), heads_);  // [b, h, s, nope + v]
  const at::Tensor k = at::cat({kv.narrow(-1, 0, nope_dim_), k_rope}, -1);
  const auto [keys, values] = cache.store(k, kv.narrow(-1, nope_dim_, v_dim_), in);  // [b, h, span, ...]
  const at::Tensor query = at::cat({q_nope, q_rope}, -1);
  return project(o_proj_, unpad_rows(merge_heads(attend(query, keys, values, in, scale_)), in.layout));
}

}  // namespace aha::policy
