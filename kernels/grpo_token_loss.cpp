// GRPO per-token loss: the CPU loop, the dispatch to the CUDA kernels, and the autograd function.
#include "kernels/grpo_token_loss.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <optional>

#ifdef AHA_WITH_CUDA
#include "kernels/cuda_tensors.hpp"
#endif

namespace aha::kernels {

namespace {

// The inputs as contiguous float32 tensors, checked; they outlive the raw pointers taken from them.
struct TokenInputs {
  at::Tensor logp, old_logp, ref_logp, advantages;
  GrpoTokenLossOptions options;

  int64_t rows() const { return logp.size(0); }
  int64_t cols() const { return logp.size(1); }
};

TokenInputs checked(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& ref_logp,
                    const at::Tensor& advantages, const GrpoTokenLossOptions& options) {
  TORCH_CHECK(logp.dim() == 2, "grpo_token_loss: logp must be [batch, seq], got ", logp.sizes());
  TORCH_CHECK(old_logp.sizes() == logp.sizes(), "grpo_token_loss: old_logp is ", old_logp.sizes(), ", logp ",
              logp.sizes());
  TORCH_CHECK(options.beta == 0.0 || (ref_logp.defined() && ref_logp.sizes() == logp.sizes()),
              "grpo_token_loss: beta = ", options.beta, " needs ref_logp shaped like logp ", logp.sizes());
  TORCH_CHECK(advantages.dim() == 1 && advantages.size(0) == logp.size(0), "grpo_token_loss: advantages must be [",
              logp.size(0), "], got ", advantages.sizes());
  const auto as_float = [](const at::Tensor& t) { return t.detach().to(at::kFloat).contiguous(); };
  return {as_float(logp), as_float(old_logp), options.beta != 0.0 ? as_float(ref_logp) : at::Tensor(),
          as_float(advantages), options};
}

// The token's loss and d loss / d logp (the formulas in the header).
struct TokenTerms {
  float loss, grad;
};

TokenTerms token_terms(const TokenInputs& in, const float* logp, const float* old_logp, const float* ref_logp,
                       const float* advantages, int64_t i) {
  const float advantage = advantages[i / in.cols()];
  const float ratio = std::exp(logp[i] - old_logp[i]);
  const float clipped = std::clamp(ratio, static_cast<float>(1.0 - in.options.epsilon_low),
                                   static_cast<float>(1.0 + in.options.epsilon_high));
  const float unclipped_term = ratio * advantage, clipped_term = clipped * advantage;
  TokenTerms t{-std::min(unclipped_term, clipped_term), unclipped_term <= clipped_term ? -advantage * ratio : 0.0f};
  if (ref_logp) {
    const float beta = static_cast<float>(in.options.beta);
    const float log_ref_ratio = ref_logp[i] - logp[i];
    const float ref_ratio = std::exp(log_ref_ratio);
    t.loss += beta * (ref_ratio - log_ref_ratio - 1.0f);
    t.grad += beta * (1.0f - ref_ratio);
  }
  return t;
}

// Runs `per_token(i, terms)` for every token on the CPU.
template <typename F>
void for_each_token(const TokenInputs& in, F per_token) {
  const float* logp = in.logp.const_data_ptr<float>();
  const float* old_logp = in.old_logp.const_data_ptr<float>();
  const float* ref_logp = in.ref_logp.defined() ? in.ref_logp.const_data_ptr<float>() : nullptr;
  const float* advantages = in.advantages.const_data_ptr<float>();
  at::parallel_for(0, in.logp.numel(), 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) per_token(i, token_terms(in, logp, old_logp, ref_logp, advantages, i));
  });
}

#ifdef AHA_WITH_CUDA
cuda::GrpoTokenArgs cuda_args(const TokenInputs& in) {
  return {in.logp.const_data_ptr<float>(),
          in.old_logp.const_data_ptr<float>(),
          in.ref_logp.defined() ? in.ref_logp.const_data_ptr<float>() : nullptr,
          in.advantages.const_data_ptr<float>(),
          in.rows(),
          in.cols(),
          static_cast<float>(in.options.epsilon_low),
          static_cast<float>(in.options.epsilon_high),
          static_cast<float>(in.options.beta)};
}
#endif

at::Tensor forward_loss(const TokenInputs& in) {
  at::Tensor loss = at::empty_like(in.logp);
#ifdef AHA_WITH_CUDA
  if (in.logp.is_cuda()) {
    cuda::grpo_token_loss_forward(cuda_args(in), loss.data_ptr<float>(), cuda::current_stream());
    return loss;
  }
#endif
  TORCH_CHECK(in.logp.is_cpu(), "grpo_token_loss: no kernel for ", in.logp.device(), " in this build");
  float* out = loss.data_ptr<float>();
  for_each_token(in, [out](int64_t i, TokenTerms t) { out[i] = t.loss; });
  return loss;
}

at::Tensor backward_logp(const TokenInputs& in, const at::Tensor& grad_loss_in) {
  const at::Tensor grad_loss = grad_loss_in.to(at::kFloat).contiguous();
  at::Tensor grad = at::empty_like(in.logp);
#ifdef AHA_WITH_CUDA
  if (in.logp.is_cuda()) {
    cuda::grpo_token_loss_backward(cuda_args(in), grad_loss.const_data_ptr<float>(), grad.data_ptr<float>(),
                                   cuda::current_stream());
    return grad;
  }
#endif
  const float* g = grad_loss.const_data_ptr<float>();
  float* out = grad.data_ptr<float>();
  for_each_token(in, [g, out](int64_t i, TokenTerms t) { out[i] = g[i] * t.grad; });
  return grad;
}

class GrpoTokenLossFunction : public torch::autograd::Function<GrpoTokenLossFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logp, const at::Tensor& old_logp,
                            const std::optional<at::Tensor>& ref_logp, const at::Tensor& advantages, double epsilon_low,
                            double epsilon_high, double beta) {
    const TokenInputs in =
        checked(logp, old_logp, ref_logp.value_or(at::Tensor()), advantages, {epsilon_low, epsilon_high, beta});
    ctx->save_for_backward({in.logp, in.old_logp, in.ref_logp, in.advantages});
    ctx->saved_data["epsilon_low"] = epsilon_low;
    ctx->saved_data["epsilon_high"] = epsilon_high;
    ctx->saved_data["beta"] = beta;
    return forward_loss(in);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const TokenInputs in{saved[0],
                         saved[1],
                         saved[2],
                         saved[3],
                         {ctx->saved_data["epsilon_low"].toDouble(), ctx->saved_data["epsilon_high"].toDouble(),
                          ctx->saved_data["beta"].toDouble()}};
    return {backward_logp(in, grads[0]),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

at::Tensor grpo_token_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& ref_logp,
                           const at::Tensor& advantages, const GrpoTokenLossOptions& options) {
  const std::optional<at::Tensor> ref = options.beta != 0.0 ? std::optional<at::Tensor>(ref_logp) : std::nullopt;
  return GrpoTokenLossFunction::apply(logp, old_logp, ref, advantages, options.epsilon_low, options.epsilon_high,
                                      options.beta);
}

}  // namespace aha::kernels
