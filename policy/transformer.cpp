// Decoder layers, masks and positions for padded batches, and the causal LM: forward() over padded
// or unpadded rows, forward_packed() over packed sequences.
#include "policy/transformer.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <variant>

#include "kernels/batch_invariant.hpp"
#include "policy/activation_checkpoint.hpp"
#include "policy/autocast.hpp"

namespace aha::policy {

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, int layer) {
  if (c.uses_mla()) mla_ = register_module("self_attn", LatentAttention(c));
  else gqa_ = register_module("self_attn", GroupedQueryAttention(c));
  if (c.is_moe_layer(layer)) moe_ = register_module("mlp", MoE(c));
  else mlp_ = register_module("mlp", SwiGLU(c.hidden_size, c.intermediate_size));
  input_layernorm_ = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm_ = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

void KvCache::select_rows(const at::Tensor& index) {
  for (auto& layer : layers) {
    layer.keys = layer.keys.index_select(0, index);
    layer.values = layer.values.index_select(0, index);
  }
  lengths = lengths.index_select(0, index);
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const AttentionInputs& in, LayerCache& cache,
                                     RouterTrace* trace, const at::Tensor& replay) {
  const at::Tensor normed = input_layernorm_(x);
  const at::Tensor h = x + (mla_ ? mla_(normed, in, cache) : gqa_(normed, in, cache));
  const at::Tensor ffn_in = post_attention_layernorm_(h);
  return h + (moe_ ? moe_(ffn_in, *trace, replay) : mlp_(ffn_in));
}

namespace {

// A router trace of unpadded rows [n, ...] laid out over every slot [batch * seq, ...]: padding
// gets zero logits and experts 0 .. k-1, as in a padded pass no loss or count reads them.
RouterTrace padded_trace(const RouterTrace& trace, const UnpaddedRows& rows) {
  const int64_t slots = rows.batch * rows.seq, k = trace.experts.size(1);
  const at::Tensor first_k = at::arange(k, trace.experts.options()).repeat({slots, 1});
  return {at::zeros({slots, trace.logits.size(1)}, trace.logits.options()).index_copy(0, rows.tokens, trace.logits),
          first_k.index_copy(0, rows.tokens, trace.experts), first_k.index_copy(0, rows.tokens, trace.own)};
}

}  // namespace

CausalLMImpl::CausalLMImpl(ModelConfig config) : config_(std::move(config)) {
  const ModelConfig& c = config_;
  body_ = register_module("model", std::make_shared<torch::nn::Module>("model"));
  embed_tokens_ = body_->register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  for (int i = 0; i < c.num_layers; ++i) layers_->push_back(DecoderLayer(c, i));
  layers_ = body_->register_module("layers", layers_);
  norm_ = body_->register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  if (!c.tie_word_embeddings)
    lm_head_ = register_module("lm_head",
                               torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
  rotary_ = Rotary::from_config(c, c.uses_mla() ? c.qk_rope_head_dim : c.head_dim);
  vocabulary_ = c.vocab_size;
}

int CausalLMImpl::num_moe_layers() const {
  int count = 0;
  for (int i = 0; i < config_.num_layers; ++i) count += config_.is_moe_layer(i);
  return count;
}

const at::Tensor& CausalLMImpl::lm_head_weight() const { return lm_head_ ? lm_head_->weight : embed_tokens_->weight; }

void CausalLMImpl::limit_vocabulary(int64_t ids) {
  TORCH_CHECK(ids >= 1, "limit_vocabulary: a tokenizer needs at least one id, got ", ids);
  vocabulary_ = std::min<int64_t>(ids, config_.vocab_size);
}

at::Tensor CausalLMImpl::output_head() const { return lm_head_weight().narrow(0, 0, vocabulary_); }

at::Tensor CausalLMImpl::logits(const at::Tensor& hidden) { return kernels::invariant_linear(hidden, output_head()); }

ForwardOutput CausalLMImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, KvCache* cache,
                                    const std::vector<at::Tensor>& replay) {
  std::optional<AutocastScope> mixed_precision;
  if (autocast_) mixed_precision.emplace(input_ids.device().type(), autocast_);
  const int64_t batch = input_ids.size(0), seq = input_ids.size(1);
  KvCache scratch;
  KvCache& kv = cache ? *cache : scratch;
  const at::Tensor real = attention_mask.to(at::kBool);  // [b, s]
  const at::Tensor past = kv.lengths.defined() ? kv.lengths : at::zeros({batch}, input_ids.options().dtype(at::kLong));
  const at::Tensor counted = real.to(at::kLong).cumsum(1);  // [b, s] real tokens up to each slot

  // Positions count the real tokens before each one, so padding shifts nothing; a padding query
  // attends to key 0 alone, as nothing reads its output.
  AttentionInputs in;
  const at::Tensor positions = (past.unsqueeze(1) + counted - 1).clamp_min(0);  // [b, s]
  in.query_positions = at::where(real, positions, -1);
  in.key_lengths = past + counted.select(1, seq - 1);
  // One read from the device: the longest row's keys and how many of the slots are tokens.
  const at::Tensor summary = at::stack({in.key_lengths.max(), counted.select(1, seq - 1).sum()}).cpu();
  const int64_t longest = std::max<int64_t>(summary[0].item<int64_t>(), 1), real_tokens = summary[1].item<int64_t>();
  in.key_span = longest;  // both attentions read the longest row's keys
  kv.capacity = std::max(kv.capacity, in.key_span);
  in.capacity = kv.capacity;
  in.write_slots = at::where(real, positions, kv.capacity);
  // With an eighth or more of the slots padding, only the real tokens run through the layers.
  if (seq > 1 && real_tokens > 0 && real_tokens * 8 <= batch * seq * 7)
    in.layout = UnpaddedRows{real.reshape({-1}).nonzero().squeeze(1), batch, seq};
  const auto* unpadded = std::get_if<UnpaddedRows>(&in.layout);  // null: padded rows

  const at::Tensor tokens = unpadded ? input_ids.reshape({-1}).index_select(0, unpadded->tokens) : input_ids;
  at::Tensor x = embed_tokens_(tokens);  // [b, s, hidden], or [n, hidden] unpadded
  std::tie(in.cos, in.sin) = rotary_.tables(positions, x.scalar_type());
  in.rotary = &rotary_;
  kv.layers.resize(layers_->size());
  kv.lengths = in.key_lengths;
  std::vector<at::Tensor> forced = replay;
  if (unpadded)
    for (auto& experts : forced) experts = experts.index_select(0, unpadded->tokens);
  ForwardOutput out;
  x = decoder_layers(x, in, kv.layers, forced, out, cache != nullptr);
  out.hidden = pad_rows(norm_(x), in.layout);
  if (unpadded)
    for (auto& trace : out.routers) trace = padded_trace(trace, *unpadded);
  return out;
}

at::Tensor CausalLMImpl::decoder_layers(at::Tensor x, const AttentionInputs& in, std::vector<LayerCache>& caches,
                                        const std::vector<at::Tensor>& replay, ForwardOutput& out, bool cached) {
  const bool recompute = activation_checkpointing_ && !cached && at::GradMode::is_enabled();
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
    x = recompute ? checkpointed_layer(*layer, x, in, trace, forced) : layer->forward(x, in, caches[i], trace, forced);
  }
  return x;
}

bool CausalLMImpl::packs_sequences() const {
  const at::Tensor& head = lm_head_weight();
  return !config_.uses_mla() && !autocast_ && kernels::batch_invariant(head) && head.scalar_type() == at::kFloat;
}

ForwardOutput CausalLMImpl::forward_packed(const at::Tensor& ids, const at::Tensor& positions, const at::Tensor& blocks,
                                           const std::vector<at::Tensor>& replay) {
  TORCH_CHECK(packs_sequences(), "forward_packed: this model runs its passes through forward()");
  TORCH_CHECK(ids.dim() == 1 && positions.sizes() == ids.sizes(), "forward_packed: ids and positions must be [n], got ",
              ids.sizes(), " and ", positions.sizes());
  AttentionInputs in;
  in.layout = PackedSequences{blocks};
  std::tie(in.cos, in.sin) = rotary_.tables(positions.view({-1, 1}), at::kFloat);  // [n, 1, rotary_dim]
  in.rotary = &rotary_;
  at::Tensor x = embed_tokens_(ids);  // [n, hidden]
  ForwardOutput out;
  std::vector<LayerCache> unused(layers_->size());
  out.hidden = norm_(decoder_layers(x, in, unused, replay, out, false));
  return out;
}

}  // namespace aha::policy
