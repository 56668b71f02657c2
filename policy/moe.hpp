// Mixture-of-experts feed-forward: a router picks k experts per token, tokens are grouped by
// expert so each expert runs once on exactly the tokens routed to it, and the outputs are summed
// with the routing weights. Routers: softmax top-k with optional renormalisation (qwen3_moe,
// qwen2_moe) and sigmoid with a selection-only bias, group-limited top-k and a scaling factor
// (deepseek_v3). Shared experts: sigmoid-gated (qwen2_moe) or ungated (deepseek_v3).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "policy/layers.hpp"
#include "policy/model_config.hpp"

namespace aha::policy {

// What one MoE layer decided, for the load-balancing loss, router statistics and routing replay.
struct RouterTrace {
  at::Tensor logits;   // [tokens, experts] router logits, float32
  at::Tensor experts;  // [tokens, k] expert ids used (the replayed ones under routing replay)
  at::Tensor own;      // [tokens, k] the experts this router chose itself; equal to experts without replay
};

struct RouterDecision {
  at::Tensor weights;  // [tokens, k] in x's dtype
  at::Tensor experts;  // [tokens, k] expert ids used
  at::Tensor own;      // [tokens, k] the router's own choice
  at::Tensor logits;   // [tokens, experts] float32
};

class RouterImpl : public torch::nn::Module {
 public:
  explicit RouterImpl(const ModelConfig& config);
  // x [tokens, hidden] -> the routing decision. With `replay` ([tokens, k] expert ids), those
  // experts are used and only their weights computed; the router's own choice is still reported.
  RouterDecision forward(const at::Tensor& x, const at::Tensor& replay);
  // logits [tokens, experts] -> the k experts this router picks [tokens, k]
  at::Tensor choose(const at::Tensor& logits) const;

 private:
  const ModelConfig config_;
  at::Tensor weight_, score_bias_;
};
TORCH_MODULE(Router);

class MoEImpl : public torch::nn::Module {
 public:
  explicit MoEImpl(const ModelConfig& config);
  // x [batch, seq, hidden] -> [batch, seq, hidden]; `trace` receives the routing decisions.
  at::Tensor forward(const at::Tensor& x, RouterTrace& trace, const at::Tensor& replay);

 private:
  int64_t num_experts_;
  Router gate_{nullptr};
  torch::nn::ModuleList experts_;
  SwiGLU shared_{nullptr};
  torch::nn::Linear shared_gate_{nullptr};
};
TORCH_MODULE(MoE);

// The Switch-Transformer load-balancing loss as transformers computes it, over all MoE layers
// pooled: num_experts * sum_{slot, e} share[slot, e] * mean_prob[e], where share is the fraction
// of routed (token, layer) pairs whose slot-th choice is e and mean_prob the mean router
// probability of e, over the tokens where `token_mask` ([tokens] bool) is true; a float mask
// weighs each token (a prefix computed once for several rows counts once per row).
at::Tensor load_balancing_loss(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask, int64_t k);

// The same loss split across micro-batches. The routing shares carry no gradient, so with the
// shares and the (token, layer) count of the whole step known, each micro-batch's part is linear
// in its router probabilities and the parts add up to the step's loss exactly.
struct RoutingShares {
  at::Tensor counts;  // [k, experts] routed (token, layer) pairs per slot and expert
  double pairs = 0;   // (token, layer) pairs counted
};
RoutingShares routing_shares(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask, int64_t k);
void accumulate(RoutingShares& total, const RoutingShares& part);
at::Tensor load_balancing_part(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask,
                               const RoutingShares& step);

// Router statistics: how many routed slots each expert received, per MoE layer, counting the
// tokens where `token_mask` ([tokens] bool) is true: [layers, experts] int64.
at::Tensor tokens_per_expert(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask, int64_t num_experts);

}  // namespace aha::policy
