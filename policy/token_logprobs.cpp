// The chunked selective log-softmax as a custom autograd function.
#include "policy/token_logprobs.hpp"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>

#include "kernels/batch_invariant.hpp"
#include "kernels/selective_log_softmax.hpp"

namespace aha::policy {

namespace {

// The rows of a chunk: `asked`, or for 0 up to 1024 rows whose float logits fit in 128 MiB.
int64_t rows_per_chunk(int64_t asked, int64_t vocab) {
  if (asked > 0) return asked;
  constexpr int64_t kChunkBytes = int64_t{128} << 20, kMostRows = 1024;
  return std::clamp<int64_t>(kChunkBytes / (std::max<int64_t>(vocab, 1) * 4), 1, kMostRows);
}

// logits of rows [begin, begin + rows): [rows, vocab]
at::Tensor chunk_logits(const at::Tensor& hidden, const at::Tensor& lm_head, int64_t begin, int64_t rows) {
  return kernels::invariant_linear(hidden.narrow(0, begin, rows), lm_head);
}

class ChunkedTokenLogprobs : public torch::autograd::Function<ChunkedTokenLogprobs> {
 public:
  // -> {log-probs [n], entropies [n] (no gradient; [0] unless asked for)}
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& hidden,
                                                const at::Tensor& lm_head, const at::Tensor& targets,
                                                double temperature, int64_t chunk_rows, bool with_entropy) {
    const int64_t n = hidden.size(0);
    at::Tensor logprobs = at::empty({n}, hidden.options().dtype(at::kFloat));
    at::Tensor logsumexp = at::empty({n}, hidden.options().dtype(at::kFloat));
    at::Tensor entropy = at::empty({with_entropy ? n : 0}, hidden.options().dtype(at::kFloat));
    for (int64_t begin = 0; begin < n; begin += chunk_rows) {
      const int64_t rows = std::min(chunk_rows, n - begin);
      const auto selected = kernels::selective_log_softmax(
          chunk_logits(hidden, lm_head, begin, rows), targets.narrow(0, begin, rows), 1.0 / temperature, with_entropy);
      logsumexp.narrow(0, begin, rows).copy_(selected.logsumexp);
      logprobs.narrow(0, begin, rows).copy_(selected.logprobs);
      if (with_entropy) entropy.narrow(0, begin, rows).copy_(selected.entropy);
    }
    ctx->save_for_backward({hidden, lm_head, targets, logsumexp});
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    ctx->mark_non_differentiable({entropy});
    return {logprobs, entropy};
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
    return {grad_hidden, grad_head.to(lm_head.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor token_logprobs(const at::Tensor& hidden, const at::Tensor& lm_head, const at::Tensor& targets,
                          double temperature, int64_t chunk_rows) {
  return ChunkedTokenLogprobs::apply(hidden, lm_head, targets, temperature, rows_per_chunk(chunk_rows, lm_head.size(0)),
                                     false)[0];
}

std::pair<at::Tensor, at::Tensor> token_logprobs_and_entropy(const at::Tensor& hidden, const at::Tensor& lm_head,
                                                             const at::Tensor& targets, double temperature,
                                                             int64_t chunk_rows) {
  const auto out = ChunkedTokenLogprobs::apply(hidden, lm_head, targets, temperature,
                                               rows_per_chunk(chunk_rows, lm_head.size(0)), true);
  return {out[0], out[1]};
}

}  // namespace aha::policy
