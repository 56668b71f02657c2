// AdamW in one pass over each block of a parameter (see fused_adamw.hpp). torch's step makes nine
// passes over every parameter and two temporaries of its size; here a block's parameter,
// gradient, moments and square roots stay in the L2 cache between the two loops.
#include "kernels/fused_adamw.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace aha::kernels {
namespace {

constexpr int64_t kBlock = 16384;  // elements: five streams of 64 kB

// torch's scalars, each rounded to float as ATen rounds a double scalar applied to a float tensor.
struct Scalars {
  bool decays;
  float decay, beta1, gradient_share1, beta2, gradient_share2, root_correction2, eps, step;
};

// p.mul_(1 - lr * wd); exp_avg.mul_(beta1).add_(grad, 1 - beta1);
// exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2). ATen's add and addcmul multiply-add.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void update_moments(
    float* p, const float* g, float* m, float* v, int64_t n, const Scalars& s) {
  if (s.decays)
    for (int64_t i = 0; i < n; ++i) p[i] = p[i] * s.decay;
  for (int64_t i = 0; i < n; ++i) {
    m[i] = std::fma(g[i], s.gradient_share1, m[i] * s.beta1);
    v[i] = std::fma(s.gradient_share2 * g[i], g[i], v[i] * s.beta2);
  }
}

// denom = root / sqrt(1 - beta2^t) + eps; p.addcdiv_(exp_avg, denom, -lr / (1 - beta1^t)).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void step_parameter(
    float* p, const float* m, const float* root, int64_t n, const Scalars& s) {
  for (int64_t i = 0; i < n; ++i) p[i] = p[i] + s.step * m[i] / (root[i] / s.root_correction2 + s.eps);
}

}  // namespace

bool fused_adamw_applies(const at::Tensor& param, const at::Tensor& grad) {
  const auto fits = [&](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous() && t.numel() == param.numel();
  };
  return fits(param) && fits(grad);
}

void fused_adamw(const at::Tensor& param, const at::Tensor& grad, const at::Tensor& exp_avg,
                 const at::Tensor& exp_avg_sq, const AdamWStep& t) {
  TORCH_CHECK(fused_adamw_applies(param, grad) && fused_adamw_applies(exp_avg, exp_avg_sq) &&
                  exp_avg.numel() == param.numel(),
              "fused_adamw: parameter, gradient and moments must be contiguous float32 CPU tensors of one size");
  const double correction1 = 1 - std::pow(t.beta1, static_cast<double>(t.step));
  const double correction2 = 1 - std::pow(t.beta2, static_cast<double>(t.step));
  const Scalars s{t.weight_decay != 0.0,
                  static_cast<float>(1 - t.lr * t.weight_decay),
                  static_cast<float>(t.beta1),
                  static_cast<float>(1 - t.beta1),
                  static_cast<float>(t.beta2),
                  static_cast<float>(1 - t.beta2),
                  static_cast<float>(std::sqrt(correction2)),
                  static_cast<float>(t.eps),
                  static_cast<float>(-(t.lr / correction1))};
  float* p = param.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* m = exp_avg.data_ptr<float>();
  float* v = exp_avg_sq.data_ptr<float>();
  const int64_t n = param.numel(), blocks = (n + kBlock - 1) / kBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    at::Tensor roots = at::empty({std::min(kBlock, n)}, param.options());
    for (int64_t b = first; b < last; ++b) {
      const int64_t offset = b * kBlock, count = std::min(kBlock, n - offset);
      update_moments(p + offset, g + offset, m + offset, v + offset, count, s);
      // ATen's square root (MKL's on x86, not always correctly rounded), as torch's step takes it.
      at::Tensor root = roots.narrow(0, 0, count);
      at::sqrt_out(root, at::from_blob(v + offset, {count}, param.options()));
      step_parameter(p + offset, m + offset, root.data_ptr<float>(), count, s);
    }
  });
}

}  // namespace aha::kernels
