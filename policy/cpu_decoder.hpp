// Decoding one token per row on the CPU in float32, on raw memory: the batch-invariant kernels
// that CausalLM::forward runs (products, RMSNorm, rotary embeddings, attention, SwiGLU) called
// one after another with no ATen operator around each, and the KV cache written in place. A step
// is a few dozen operators instead of about a thousand, and each row's hidden state and experts
// have the bits CausalLM::forward gives the same token.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "kernels/invariant_gemm.hpp"
#include "policy/transformer.hpp"

namespace aha::policy {

struct DecodeStep {
  at::Tensor hidden;                // [rows, hidden] after the final norm
  std::vector<at::Tensor> experts;  // per MoE layer [rows, k] int64: the experts each row's token chose
};

class CpuDecoder {
 public:
  // Whether `model` decodes this way: on the CPU in float32 with the batch-invariant kernels and
  // no autocast, grouped-query attention with rotate-half rotary embeddings, softmax routers.
  static bool supports(CausalLMImpl& model);

  // Decodes on from a prefill's cache (its batch rows, their lengths, room for every token to come).
  // Each run of rows_per_prompt consecutive rows holds one prompt's completions: attention reads
  // the prompt's keys and values (as far as the run's first row holds them now) from that first row
  // for all of them, so the others' copies are never read.
  CpuDecoder(CausalLMImpl& model, KvCache cache, int64_t rows_per_prompt = 1);

  // One token for each of `rows` (rows of the cache's batch), at the next position of each.
  DecodeStep step(const std::vector<int64_t>& rows, const std::vector<int64_t>& tokens);
  // hidden [rows, hidden] -> logits [rows, vocab], CausalLM::logits's bits.
  at::Tensor logits(const at::Tensor& hidden) const;

 private:
  struct Projection {
    const float* weight = nullptr;  // [out, in], the model's own
    int64_t out = 0, in = 0;
    const float* bias = nullptr;  // [out] or null
  };
  struct SwiGLUWeights {
    Projection gate, up, down;
  };
  struct Layer {
    const float *input_norm = nullptr, *post_norm = nullptr, *q_norm = nullptr, *k_norm = nullptr;
    Projection q, k, v, o;
    SwiGLUWeights mlp;                 // a dense layer's feed-forward, or the MoE's shared expert
    bool moe = false, shared = false;  // whether the MoE has a shared expert (mlp)
    Projection router, shared_gate;    // shared_gate: out 1, or none (0 outputs)
    std::vector<SwiGLUWeights> experts;
  };

  // out [n, p.out] = x [n, p.in] p.weight^T + p.bias
  void project(const Projection& p, const float* x, int64_t n, float* out) const;
  // out [n, hidden] = down(silu(gate(x)) * up(x)).
  void feed_forward(const SwiGLUWeights& w, const float* x, int64_t n, float* out);
  // out [n, hidden] = the MoE's output for ffn_in [n, hidden]; experts [n, k] into `chosen`.
  void mixture(const Layer& layer, const float* x, int64_t n, float* out, at::Tensor& chosen);
  // out [n, hidden] = the attention's output for x [n, hidden], its keys and values cached.
  void attention(const Layer& layer, LayerCache& cache, const float* x, const std::vector<int64_t>& rows,
                 const std::vector<int64_t>& positions, const float* cos, const float* sin, float* out);

  CausalLMImpl& model_;
  KvCache cache_;
  std::vector<int64_t> lengths_;                                 // tokens cached per cache row
  std::vector<int64_t> prompt_row_, prompt_length_;              // per cache row: where its prompt's keys are, how many
  std::vector<int64_t> step_prompt_rows_, step_prompt_lengths_;  // the same for a step's rows
  std::vector<Layer> layers_;
  Projection lm_head_;
  const float *embedding_ = nullptr, *final_norm_ = nullptr;
  int64_t hidden_, heads_, kv_heads_, head_dim_, experts_per_token_;
  double eps_, scale_;
  bool norm_topk_prob_;
  std::vector<float> x_, normed_, mixed_, ffn_out_, shared_out_;  // [rows, hidden] each
  std::vector<float> gate_, up_, act_, rows_in_, rows_out_;       // feed-forward and expert scratch
  std::vector<float> q_, k_, v_, rotated_, heads_out_;            // attention scratch
  std::vector<float> router_logits_;                              // [rows, experts], then the shared gate's [rows]
  std::vector<int64_t> row_of_slot_, group_rows_;                 // the step's expert-sorted rows
};

}  // namespace aha::policy
