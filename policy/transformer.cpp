// Decoder layers, masks and positions for padded batches, and the causal LM.
#include "policy/transformer.hpp"

#include <ATen/ATen.h>

namespace aha::policy {

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, int layer) {
  if (c.uses_mla()) mla_ = register_module("self_attn", LatentAttention(c));
  else gqa_ = register_module("self_attn", GroupedQueryAttention(c));
  if (c.is_moe_layer(layer)) moe_ = register_module("mlp", MoE(c));
  else mlp_ = register_module("mlp", SwiGLU(c.hidden_size, c.intermediate_size));
  input_layernorm_ = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm_ = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const AttentionInputs& in, LayerCache* cache,
                                     RouterTrace* trace, const at::Tensor& replay) {
  const at::Tensor normed = input_layernorm_(x);
  const at::Tensor h = x + (mla_ ? mla_(normed, in, cache) : gqa_(normed, in, cache));
  const at::Tensor ffn_in = post_attention_layernorm_(h);
  return h + (moe_ ? moe_(ffn_in, *trace, replay) : mlp_(ffn_in));
}

CausalLMImpl::CausalLMImpl(ModelConfig config) : config_(std::move(config)) {
  const ModelConfig& c = config_;
  body_ = register_module("model", std::make_shared<torch::nn::Module>("model"));
  embed_tokens_ = body_->register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  for (int i = 0; i < c.num_layers; ++i) layers_->push_back(DecoderLayer(c, i));
  layers_ = body_->register_module("layers", layers_);
  norm_ = body_->register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  if (!c.tie_word_embeddings)
    lm_head_ = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
  rotary_ = Rotary::from_config(c, c.uses_mla() ? c.qk_rope_head_dim : c.head_dim);
}

int CausalLMImpl::num_moe_layers() const {
  int count = 0;
  for (int i = 0; i < config_.num_layers; ++i) count += config_.is_moe_layer(i);
  return count;
}

const at::Tensor& CausalLMImpl::lm_head_weight() const {
  return lm_head_ ? lm_head_->weight : embed_tokens_->weight;
}

at::Tensor CausalLMImpl::logits(const at::Tensor& hidden) { return at::linear(hidden, lm_head_weight()); }

ForwardOutput CausalLMImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, KvCache* cache,
                                    const std::vector<at::Tensor>& replay) {
  const int64_t seq = input_ids.size(1);
  const auto device = input_ids.device();
  const at::Tensor new_mask = attention_mask.to(at::kBool);  // [b, s]
  const bool has_past = cache && cache->key_mask.defined();
  const at::Tensor key_mask = has_past ? at::cat({cache->key_mask, new_mask}, 1) : new_mask;  // [b, keys]
  const int64_t past = key_mask.size(1) - seq;

  // Positions count the real tokens before each one, so left padding shifts nothing.
  at::Tensor positions = new_mask.to(at::kLong).cumsum(1) - 1;  // [b, s]
  if (has_past) positions = positions + cache->key_mask.to(at::kLong).sum(1, true);
  positions = positions.clamp_min(0);

  // A query sees the real keys at or before its slot, and always itself (so padding rows stay finite).
  const at::Tensor query_slot = at::arange(past, past + seq, at::TensorOptions().dtype(at::kLong).device(device));
  const at::Tensor key_slot = at::arange(past + seq, at::TensorOptions().dtype(at::kLong).device(device));
  const at::Tensor causal = key_slot.unsqueeze(0) <= query_slot.unsqueeze(1);           // [s, keys]
  const at::Tensor self = key_slot.unsqueeze(0) == query_slot.unsqueeze(1);              // [s, keys]
  const at::Tensor allowed = (causal.unsqueeze(0) & key_mask.unsqueeze(1)) | self.unsqueeze(0);  // [b, s, keys]

  at::Tensor x = embed_tokens_(input_ids);  // [b, s, hidden]
  auto [cos, sin] = rotary_.tables(positions, x.scalar_type());
  const AttentionInputs in{cos, sin, allowed.unsqueeze(1), &rotary_};

  if (cache) {
    cache->layers.resize(layers_->size());
    cache->key_mask = key_mask;
  }
  ForwardOutput out;
  std::size_t moe_index = 0;
  for (std::size_t i = 0; i < layers_->size(); ++i) {
    auto* layer = layers_[i]->as<DecoderLayer>();
    RouterTrace* trace = nullptr;
    at::Tensor forced;
    if (layer->is_moe()) {
      trace = &out.routers.emplace_back();
      if (moe_index < replay.size()) forced = replay[moe_index];
      ++moe_index;
    }
    x = layer->forward(x, in, cache ? &cache->layers[i] : nullptr, trace, forced);
  }
  out.hidden = norm_(x);
  return out;
}

}  // namespace aha::policy
