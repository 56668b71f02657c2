// The kernels' ATen references.
#include "kernels/reference.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace aha::kernels::reference {

at::Tensor selected_logprobs(const at::Tensor& logits, const at::Tensor& targets, double scale) {
  return at::log_softmax(logits.to(at::kFloat) * scale, -1).gather(1, targets.unsqueeze(1)).squeeze(1);
}

at::Tensor entropy(const at::Tensor& logits, double scale) {
  const at::Tensor logp = at::log_softmax(logits.to(at::kFloat) * scale, -1);
  return -(logp.exp() * logp).sum(-1);
}

at::Tensor grpo_token_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& ref_logp,
                           const at::Tensor& advantages, const GrpoTokenLossOptions& options) {
  const at::Tensor a = advantages.unsqueeze(1);  // [b, 1]
  const at::Tensor ratio = at::exp(logp - old_logp);
  const at::Tensor clipped = at::clamp(ratio, 1.0 - options.epsilon_low, 1.0 + options.epsilon_high);
  at::Tensor loss = -at::min(ratio * a, clipped * a);  // [b, s]
  if (options.beta != 0.0) {
    const at::Tensor log_ref_ratio = ref_logp - logp;
    loss = loss + options.beta * (at::exp(log_ref_ratio) - log_ref_ratio - 1.0);
  }
  return loss;
}

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                            const at::Tensor& query_positions, const at::Tensor& key_lengths, double scale) {
  const int64_t b = q.size(0), group = q.size(1) / keys.size(1), span = keys.size(2);
  const at::Tensor key_position = at::arange(span, at::kLong).view({1, 1, span});
  const at::Tensor allowed =
      ((key_position <= query_positions.unsqueeze(-1)) & (key_position < key_lengths.view({b, 1, 1}))) |
      (key_position == 0);  // [b, s, span]
  const at::Tensor k = keys.repeat_interleave(group, 1), v = values.repeat_interleave(group, 1);
  const at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) * scale;  // [b, heads, s, span]
  return at::matmul(at::softmax(scores.masked_fill(allowed.logical_not().unsqueeze(1), -INFINITY), -1), v);
}

at::Tensor moe_dense(const at::Tensor& x, const at::Tensor& experts, const at::Tensor& weights, int64_t num_experts,
                     const std::function<at::Tensor(int64_t, const at::Tensor&)>& expert) {
  at::Tensor out;
  for (int64_t e = 0; e < num_experts; ++e) {
    const at::Tensor gate = ((experts == e).to(weights.scalar_type()) * weights).sum(1, true);  // [n, 1]
    const at::Tensor term = gate * expert(e, x);                                                // [n, out]
    out = out.defined() ? out + term : term;
  }
  return out;
}

}  // namespace aha::kernels::reference
