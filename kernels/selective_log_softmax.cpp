// Selective log-softmax: the dispatch between the CUDA kernels and the CPU loop, and the autograd
// function over them.
#include "kernels/selective_log_softmax.hpp"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <cmath>
#include <limits>

#ifdef AHA_WITH_CUDA
#include "kernels/cuda_tensors.hpp"
#endif

namespace aha::kernels {

namespace {

void check_inputs(const at::Tensor& logits, const at::Tensor& targets) {
  TORCH_CHECK(logits.dim() == 2, "selective_log_softmax: logits must be [rows, vocab], got ", logits.sizes());
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0) && targets.scalar_type() == at::kLong,
              "selective_log_softmax: targets must be int64 [", logits.size(0), "], got ", targets.scalar_type(), " ",
              targets.sizes());
  TORCH_CHECK(logits.device() == targets.device(), "selective_log_softmax: logits on ", logits.device(),
              " but targets on ", targets.device());
}

// One row at a time: the maximum, then sum exp(x - max) (and sum exp(x - max) * x), each exp in
// float and the sums in double.
template <typename T>
void forward_cpu(const T* logits, const int64_t* targets, int64_t rows, int64_t vocab, float scale, float* logprobs,
                 float* logsumexp, float* entropy) {
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const T* x = logits + row * vocab;
      float max = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < vocab; ++j) max = std::max(max, static_cast<float>(x[j]) * scale);
      double sum = 0.0, weighted = 0.0;
      for (int64_t j = 0; j < vocab; ++j) {
        const float v = static_cast<float>(x[j]) * scale;
        const double e = std::exp(v - max);  // float exp, double sum
        sum += e;
        if (entropy && e > 0.0) weighted += e * v;
      }
      const double lse = max + std::log(sum);
      const int64_t target = targets[row];
      TORCH_CHECK(target >= 0 && target < vocab, "selective_log_softmax: target ", target, " of row ", row,
                  " is outside the vocabulary of ", vocab);
      logsumexp[row] = static_cast<float>(lse);
      logprobs[row] = static_cast<float>(static_cast<double>(static_cast<float>(x[target]) * scale) - lse);
      if (entropy) entropy[row] = static_cast<float>(lse - weighted / sum);
    }
  });
}

template <typename T>
void backward_cpu(const float* grad, const T* logits, const int64_t* targets, const float* logsumexp, int64_t rows,
                  int64_t vocab, float scale, T* grad_logits) {
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const T* x = logits + row * vocab;
      T* out = grad_logits + row * vocab;
      const float g = grad[row] * scale, lse = logsumexp[row];
      for (int64_t j = 0; j < vocab; ++j)
        out[j] = static_cast<T>(-g * std::exp(static_cast<float>(x[j]) * scale - lse));
      out[targets[row]] = static_cast<T>(static_cast<float>(out[targets[row]]) + g);
    }
  });
}

class SelectedLogprobsFunction : public torch::autograd::Function<SelectedLogprobsFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& targets,
                            double scale) {
    const SelectedLogprobs out = selective_log_softmax(logits, targets, scale);
    ctx->save_for_backward({logits, targets, out.logsumexp});
    ctx->saved_data["scale"] = scale;
    return out.logprobs;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const double scale = ctx->saved_data["scale"].toDouble();
    return {selective_log_softmax_backward(grads[0], saved[0], saved[1], saved[2], scale), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

SelectedLogprobs selective_log_softmax(const at::Tensor& logits_in, const at::Tensor& targets_in, double scale,
                                       bool with_entropy) {
  check_inputs(logits_in, targets_in);
  at::NoGradGuard no_grad;
  const at::Tensor logits = logits_in.contiguous(), targets = targets_in.contiguous();
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  const auto options = logits.options().dtype(at::kFloat);
  SelectedLogprobs out{at::empty({rows}, options), at::empty({rows}, options),
                       with_entropy ? at::empty({rows}, options) : at::Tensor()};
  float* entropy = with_entropy ? out.entropy.data_ptr<float>() : nullptr;
#ifdef AHA_WITH_CUDA
  if (logits.is_cuda()) {
    cuda::selective_log_softmax_forward(logits.const_data_ptr(), cuda::dtype_of(logits, "selective_log_softmax"),
                                        targets.const_data_ptr<int64_t>(), rows, vocab, static_cast<float>(scale),
                                        out.logprobs.data_ptr<float>(), out.logsumexp.data_ptr<float>(), entropy,
                                        cuda::current_stream());
    return out;
  }
#endif
  TORCH_CHECK(logits.is_cpu(), "selective_log_softmax: no kernel for ", logits.device(), " in this build");
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, logits.scalar_type(), "selective_log_softmax", [&] {
    forward_cpu(logits.const_data_ptr<scalar_t>(), targets.const_data_ptr<int64_t>(), rows, vocab,
                static_cast<float>(scale), out.logprobs.data_ptr<float>(), out.logsumexp.data_ptr<float>(), entropy);
  });
  return out;
}

at::Tensor selective_log_softmax_backward(const at::Tensor& grad_logprobs, const at::Tensor& logits_in,
                                          const at::Tensor& targets_in, const at::Tensor& logsumexp, double scale) {
  check_inputs(logits_in, targets_in);
  const at::Tensor logits = logits_in.contiguous(), targets = targets_in.contiguous();
  const at::Tensor grad = grad_logprobs.to(at::kFloat).contiguous(), lse = logsumexp.contiguous();
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  at::Tensor grad_logits = at::empty_like(logits);
#ifdef AHA_WITH_CUDA
  if (logits.is_cuda()) {
    cuda::selective_log_softmax_backward(grad.const_data_ptr<float>(), logits.const_data_ptr(),
                                         cuda::dtype_of(logits, "selective_log_softmax_backward"),
                                         targets.const_data_ptr<int64_t>(), lse.const_data_ptr<float>(), rows, vocab,
                                         static_cast<float>(scale), grad_logits.data_ptr(), cuda::current_stream());
    return grad_logits;
  }
#endif
  TORCH_CHECK(logits.is_cpu(), "selective_log_softmax_backward: no kernel for ", logits.device(), " in this build");
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, logits.scalar_type(), "selective_log_softmax_backward",
                                  [&] {
                                    backward_cpu(grad.const_data_ptr<float>(), logits.const_data_ptr<scalar_t>(),
                                                 targets.const_data_ptr<int64_t>(), lse.const_data_ptr<float>(), rows,
                                                 vocab, static_cast<float>(scale), grad_logits.data_ptr<scalar_t>());
                                  });
  return grad_logits;
}

at::Tensor selected_logprobs(const at::Tensor& logits, const at::Tensor& targets, double scale) {
  return SelectedLogprobsFunction::apply(logits, targets, scale);
}

}  // namespace aha::kernels
