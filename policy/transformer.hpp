// The decoder-only causal language model, one class for every supported architecture: embeddings,
// N decoder layers (attention + dense or MoE feed-forward, pre-norm residuals), a final norm and
// the LM head. Parameter names equal the Hugging Face checkpoint keys.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <optional>
#include <vector>

#include "policy/attention.hpp"
#include "policy/moe.hpp"

namespace aha::policy {

// Keys and values of everything a batch has seen, indexed by position, for incremental decoding.
struct KvCache {
  std::vector<LayerCache> layers;
  at::Tensor lengths;    // [batch] int64: tokens cached per row
  int64_t capacity = 0;  // positions each row holds: set it before the first pass to never grow
  // Keeps, reorders or repeats rows: index [rows] int64 into the batch.
  void select_rows(const at::Tensor& index);
};

struct ForwardOutput {
  at::Tensor hidden;                 // [batch, seq, hidden] after the final norm
  std::vector<RouterTrace> routers;  // one per MoE layer, in layer order
};

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& config, int layer);
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in, LayerCache& cache, RouterTrace* trace,
                     const at::Tensor& replay);
  bool is_moe() const { return !moe_.is_empty(); }

 private:
  RMSNorm input_layernorm_{nullptr}, post_attention_layernorm_{nullptr};
  GroupedQueryAttention gqa_{nullptr};
  LatentAttention mla_{nullptr};
  SwiGLU mlp_{nullptr};
  MoE moe_{nullptr};
};
TORCH_MODULE(DecoderLayer);

class CausalLMImpl : public torch::nn::Module {
 public:
  explicit CausalLMImpl(ModelConfig config);

  // input_ids [batch, seq] int64, attention_mask [batch, seq] (1 = token, 0 = padding; left or
  // right). Positions count the tokens before each one. With `cache`, the new tokens attend to
  // the cached ones and are appended. `replay` ([MoE layers] of [batch * seq, k]) forces the
  // experts chosen in an earlier pass.
  ForwardOutput forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, KvCache* cache = nullptr,
                        const std::vector<at::Tensor>& replay = {});
  // One pass over packed sequences with no padding and no cache, shared prompts stored once (see
  // kernels/packed_attention.hpp): ids and positions [n] int64, blocks [m, 4]; replay per MoE
  // layer [n, k]. -> hidden [n, hidden], routers over the n tokens. Each token gets the bits
  // forward() gives it. Only where packs_sequences() holds.
  ForwardOutput forward_packed(const at::Tensor& ids, const at::Tensor& positions, const at::Tensor& blocks,
                               const std::vector<at::Tensor>& replay = {});
  // Grouped-query attention on the CPU with the batch-invariant kernels, no autocast.
  bool packs_sequences() const;
  // hidden [..., hidden] -> logits [..., vocabulary()]
  at::Tensor logits(const at::Tensor& hidden);
  const at::Tensor& lm_head_weight() const;  // [vocab_size, hidden], every row of the checkpoint
  // Checkpoints pad their embedding past the tokenizer (Qwen2.5: 151,936 rows for 151,665 ids).
  // The ids a tokenizer can produce are the first vocabulary() rows; the rest are never sampled
  // and never enter a softmax, in sampling and training alike. Default: every row.
  int64_t vocabulary() const { return vocabulary_; }
  void limit_vocabulary(int64_t ids);  // to min(ids, vocab_size); ids >= 1
  at::Tensor output_head() const;      // [vocabulary(), hidden]: the LM head's rows that produce logits

  const ModelConfig& config() const { return config_; }
  const Rotary& rotary() const { return rotary_; }
  int num_moe_layers() const;

  // Passes that keep no KV cache (forward_packed, and forward without a cache) keep only each
  // layer's input for the backward and run the layer again there (policy/activation_checkpoint.hpp).
  void set_activation_checkpointing(bool on) { activation_checkpointing_ = on; }
  bool activation_checkpointing() const { return activation_checkpointing_; }

  // Runs forward()'s matrix products in `dtype` (bf16) under ATen's autocast, parameters staying
  // float32; the router and the LM head stay float32. nullopt: no autocast (the default).
  void set_autocast(std::optional<at::ScalarType> dtype) { autocast_ = dtype; }
  std::optional<at::ScalarType> autocast() const { return autocast_; }

 private:
  // x through every layer, the MoE layers' traces appended to out.routers; replay[m] forced on
  // the m-th MoE layer. `cached`: the layers write keys and values the caller reads later.
  at::Tensor decoder_layers(at::Tensor x, const AttentionInputs& in, std::vector<LayerCache>& caches,
                            const std::vector<at::Tensor>& replay, ForwardOutput& out, bool cached);

  ModelConfig config_;
  std::shared_ptr<torch::nn::Module> body_;
  torch::nn::Embedding embed_tokens_{nullptr};
  torch::nn::ModuleList layers_;
  RMSNorm norm_{nullptr};
  torch::nn::Linear lm_head_{nullptr};
  Rotary rotary_;
  std::optional<at::ScalarType> autocast_;
  int64_t vocabulary_ = 0;
  bool activation_checkpointing_ = false;
};
TORCH_MODULE(CausalLM);

}  // namespace aha::policy
