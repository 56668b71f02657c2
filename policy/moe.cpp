// Routers, grouped expert dispatch and the load-balancing loss.
#include "policy/moe.hpp"

#include <ATen/ATen.h>
#include <ATen/TensorIndexing.h>

#include "kernels/batch_invariant.hpp"
#include "kernels/fused_elementwise.hpp"
#include "kernels/grouped_linear.hpp"
#include "kernels/moe_dispatch.hpp"
#include "policy/autocast.hpp"

namespace aha::policy {

RouterImpl::RouterImpl(const ModelConfig& config) : config_(config) {
  weight_ = register_parameter("weight", at::empty({config.num_experts, config.hidden_size}));
  if (config.type == ModelType::deepseek_v3)
    score_bias_ = register_buffer("e_score_correction_bias", at::zeros({config.num_experts}));
}

at::Tensor RouterImpl::choose(const at::Tensor& logits) const {
  const int64_t k = config_.num_experts_per_tok;
  if (config_.type != ModelType::deepseek_v3) return std::get<1>(at::softmax(logits, -1).topk(k, -1));
  at::Tensor choice = kernels::invariant_sigmoid(logits) +
                      score_bias_.to(at::kFloat);  // the bias steers selection only
  if (config_.n_group > 1) {
    const int64_t tokens = logits.size(0), groups = config_.n_group;
    const at::Tensor group_scores =
        std::get<0>(choice.view({tokens, groups, -1}).topk(2, -1)).sum(-1);  // [tokens, groups]
    const at::Tensor best_groups = std::get<1>(group_scores.topk(config_.topk_group, -1));
    const at::Tensor group_mask = at::zeros_like(group_scores).scatter_(1, best_groups, 1.0);
    const at::Tensor expert_mask =
        group_mask.unsqueeze(-1).expand({tokens, groups, config_.num_experts / groups}).reshape({tokens, -1});
    choice = choice.masked_fill(expert_mask.logical_not(), 0.0);
  }
  return std::get<1>(choice.topk(k, -1));
}

RouterDecision RouterImpl::forward(const at::Tensor& x, const at::Tensor& replay) {
  RouterDecision d;
  {
    const AutocastScope float32(x.device().type(), std::nullopt);                    // routing decided in float32
    d.logits = kernels::invariant_linear(x.to(at::kFloat), weight_.to(at::kFloat));  // [tokens, experts]
  }
  d.own = choose(d.logits);
  d.experts = replay.defined() ? replay : d.own;
  if (config_.type != ModelType::deepseek_v3) {
    d.weights = at::softmax(d.logits, -1).gather(1, d.experts);
    if (config_.norm_topk_prob) d.weights = d.weights / d.weights.sum(-1, true);
  } else {
    d.weights = kernels::invariant_sigmoid(d.logits).gather(1, d.experts);
    if (config_.norm_topk_prob) d.weights = d.weights / (d.weights.sum(-1, true) + 1e-20);
    d.weights = d.weights * config_.routed_scaling_factor;
  }
  d.weights = d.weights.to(x.scalar_type());
  return d;
}

MoEImpl::MoEImpl(const ModelConfig& c) : num_experts_(c.num_experts) {
  gate_ = register_module("gate", Router(c));
  for (int64_t e = 0; e < num_experts_; ++e) experts_->push_back(SwiGLU(c.hidden_size, c.moe_intermediate_size));
  experts_ = register_module("experts", experts_);
  if (c.shared_expert_intermediate_size > 0) {
    shared_ = register_module("shared_expert", SwiGLU(c.hidden_size, c.shared_expert_intermediate_size));
    shared_gate_ = register_module("shared_expert_gate",
                                   torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, 1).bias(false)));
  } else if (c.n_shared_experts > 0) {
    shared_ = register_module("shared_experts", SwiGLU(c.hidden_size, c.moe_intermediate_size * c.n_shared_experts));
  }
}

at::Tensor MoEImpl::forward(const at::Tensor& x, RouterTrace& trace, const at::Tensor& replay) {
  const auto shape = x.sizes();
  const at::Tensor tokens = x.reshape({-1, x.size(-1)});  // [n, hidden]
  const RouterDecision decision = gate_(tokens, replay);
  trace = {decision.logits, decision.experts, decision.own};

  // The (token, slot) pairs sorted by expert; each expert's projections run on its rows at once.
  const kernels::ExpertRouting routing = kernels::route_by_expert(decision.experts, num_experts_);
  const auto& groups = routing.rows_per_expert;
  std::vector<at::Tensor> gate, up, down;
  for (int64_t e = 0; e < num_experts_; ++e) {
    const auto expert = experts_[e]->as<SwiGLU>();
    gate.push_back(expert->gate_weight()), up.push_back(expert->up_weight()), down.push_back(expert->down_weight());
  }
  const at::Tensor rows = kernels::permute_tokens(tokens, routing);  // [n * k, hidden]
  const at::Tensor activated =
      kernels::silu_mul(kernels::grouped_linear(rows, groups, gate),
                        kernels::grouped_linear(rows, groups, up));  // [n * k, moe_intermediate]
  at::Tensor out = kernels::combine_tokens(kernels::grouped_linear(activated, groups, down), decision.weights,
                                           routing);  // [n, hidden]
  if (shared_) {
    const at::Tensor shared = shared_(tokens);
    out = out + (shared_gate_ ? kernels::invariant_sigmoid(project(shared_gate_, tokens)) * shared : shared);
  }
  return out.view(shape);
}

namespace {

// Router logits of every MoE layer, pooled: [layers * tokens, experts], and the mask repeated alike.
std::pair<at::Tensor, at::Tensor> pooled(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask) {
  std::vector<at::Tensor> logits;
  for (const auto& t : traces) logits.push_back(t.logits);
  return {at::cat(logits), token_mask.to(at::kFloat).repeat({static_cast<int64_t>(traces.size())})};
}

}  // namespace

RoutingShares routing_shares(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask, int64_t k) {
  at::NoGradGuard no_grad;
  const auto [logits, mask] = pooled(traces, token_mask);
  const at::Tensor chosen = std::get<1>(at::softmax(logits, -1).topk(k, -1));     // [pairs, k]
  const at::Tensor one_hot = at::one_hot(chosen, logits.size(1)).to(at::kFloat);  // [pairs, k, experts]
  return {(one_hot * mask.view({-1, 1, 1})).sum(0), mask.sum().item<double>()};
}

void accumulate(RoutingShares& total, const RoutingShares& part) {
  total.counts = total.counts.defined() ? total.counts + part.counts : part.counts;
  total.pairs += part.pairs;
}

at::Tensor load_balancing_part(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask,
                               const RoutingShares& step) {
  const auto [logits, mask] = pooled(traces, token_mask);
  const int64_t num_experts = logits.size(1);
  const double pairs = std::max(step.pairs, 1.0);
  const at::Tensor prob_sum = (at::softmax(logits, -1) * mask.view({-1, 1})).sum(0);  // [experts]
  return ((step.counts / pairs) * (prob_sum / pairs).unsqueeze(0)).sum() * static_cast<double>(num_experts);
}

at::Tensor load_balancing_loss(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask, int64_t k) {
  if (traces.empty()) return {};
  return load_balancing_part(traces, token_mask, routing_shares(traces, token_mask, k));
}

at::Tensor tokens_per_expert(const std::vector<RouterTrace>& traces, const at::Tensor& token_mask,
                             int64_t num_experts) {
  std::vector<at::Tensor> rows;
  const at::Tensor keep = token_mask.to(at::kBool);
  for (const auto& trace : traces)
    rows.push_back(at::bincount(trace.experts.index({keep}).reshape({-1}), {}, num_experts));
  return at::stack(rows);
}

}  // namespace aha::policy
