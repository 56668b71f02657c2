// The chunked selective log-softmax as a custom autograd function.
#include "policy/token_logprobs.hpp"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "kernels/batch_invariant.hpp"
#include "kernels/selective_log_softmax.hpp"

namespace aha::policy {

namespace {

// logits of rows [begin, begin + rows): [rows, vocab]
at::Tensor chunk_logits(const at::Tensor& hidden, const at::Tensor& lm_head, int64_t begin, int64_t rows) {
  return kernels::invariant_linear(hidden.narrow(0, begin, rows), lm_head);
}

class ChunkedTokenLogprobs : public torch::autograd::Function<ChunkedTokenLogprobs> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& lm_head,
                            const at::Tensor& targets, double temperature, int64_t chunk_rows) {
    const int64_t n = hidden.size(0);
    at::Tensor logprobs = at::empty({n}, hidden.options().dtype(at::kFloat));
    at::Tensor logsumexp = at::empty({n}, hidden.options().dtype(at::kFloat));
    for (int64_t begin = 0; begin < n; begin += chunk_rows) {
      const int64_t rows = std::min(chunk_rows, n - begin);
      const auto selected = kernels::selective_log_softmax(chunk_logits(hidden, lm_head, begin, rows),
                                                           targets.narrow(0, begin, rows), 1.0 / temperature);
      logsumexp.narrow(0, begin, rows).copy_(selected.logsumexp);
      logprobs.narrow(0, begin, rows).copy_(selected.logprobs);
    }
    ctx->save_for_backward({hidden, lm_head, targets, logsumexp});
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    return logprobs;
  }

  // d logp_i / d logit_ij = (1[j = t_i] - softmax_ij) / temperature
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &hidden = saved[0], &lm_head = saved[1], &targets = saved[2], &logsumexp = saved[3];
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const at::Tensor grad_out = grads[0].to(at::kFloat);  // [n]
    const int64_t n = hidden.size(0);
    at::Tensor grad_hidden = at::empty_like(hidden);
    at::Tensor grad_head = at::zeros(lm_head.sizes(), lm_head.options().dtype(at::kFloat));
    for (int64_t begin = 0; begin < n; begin += chunk_rows) {
      const int64_t rows = std::min(chunk_rows, n - begin);
      const at::Tensor grad_logits = kernels::selective_log_softmax_backward(
          grad_out.narrow(0, begin, rows), chunk_logits(hidden, lm_head, begin, rows), targets.narrow(0, begin, rows),
          logsumexp.narrow(0, begin, rows), 1.0 / temperature);  // [rows, vocab]
      const at::Tensor rows_hidden = hidden.narrow(0, begin, rows);
      grad_hidden.narrow(0, begin, rows).copy_(at::matmul(grad_logits.to(lm_head.scalar_type()), lm_head));
      grad_head.add_(at::matmul(grad_logits.to(at::kFloat).t(), rows_hidden.to(at::kFloat)));
    }
    return {grad_hidden, grad_head.to(lm_head.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor token_logprobs(const at::Tensor& hidden, const at::Tensor& lm_head, const at::Tensor& targets,
                          double temperature, int64_t chunk_rows) {
  return ChunkedTokenLogprobs::apply(hidden, lm_head, targets, temperature, chunk_rows);
}

at::Tensor token_entropy(const at::Tensor& hidden, const at::Tensor& lm_head, double temperature, int64_t chunk_rows) {
  at::NoGradGuard no_grad;
  const int64_t n = hidden.size(0);
  at::Tensor entropy = at::empty({n}, hidden.options().dtype(at::kFloat));
  for (int64_t begin = 0; begin < n; begin += chunk_rows) {
    const int64_t rows = std::min(chunk_rows, n - begin);
    const at::Tensor logits = chunk_logits(hidden, lm_head, begin, rows);  // [rows, vocab]
    const at::Tensor any_target = at::zeros({rows}, logits.options().dtype(at::kLong));
    entropy.narrow(0, begin, rows).copy_(kernels::selective_log_softmax(logits, any_target, 1.0 / temperature, true).entropy);
  }
  return entropy;
}

}  // namespace aha::policy
