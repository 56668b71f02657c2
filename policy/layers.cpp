// RMSNorm, SwiGLU and rotary embeddings, written to match transformers' float32 numerics.
#include "policy/layers.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <numbers>

#include "kernels/batch_invariant.hpp"
#include "kernels/fused_elementwise.hpp"

namespace aha::policy {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) { return kernels::rms_norm(x, weight_, eps_); }

SwiGLUImpl::SwiGLUImpl(int64_t hidden, int64_t intermediate) {
  const auto linear = [](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  gate_proj_ = register_module("gate_proj", linear(hidden, intermediate));
  up_proj_ = register_module("up_proj", linear(hidden, intermediate));
  down_proj_ = register_module("down_proj", linear(intermediate, hidden));
}

at::Tensor project(const torch::nn::Linear& layer, const at::Tensor& x) {
  return kernels::invariant_linear(x, layer->weight, layer->bias);
}

at::Tensor SwiGLUImpl::forward(const at::Tensor& x) {
  return project(down_proj_, kernels::silu_mul(project(gate_proj_, x), project(up_proj_, x)));
}

double yarn_mscale(double factor, double mscale) { return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0; }

Rotary Rotary::from_config(const ModelConfig& config, int64_t rotary_dim) {
  Rotary rotary;
  rotary.interleaved = config.rope_interleaved;
  const double base = config.rope_theta;
  const at::Tensor exponents = at::arange(0, rotary_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(rotary_dim);
  const at::Tensor pos_freqs = at::pow(base, exponents);  // [rotary_dim / 2]
  const RopeScaling& s = config.rope_scaling;
  rotary.inv_freq = 1.0 / pos_freqs;
  if (s.type == "linear") {
    rotary.inv_freq = rotary.inv_freq / s.factor;
  } else if (s.type == "yarn") {
    const double max_pos = s.original_max_position_embeddings;
    const auto correction_dim = [&](double rotations) {
      return rotary_dim * std::log(max_pos / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
    };
    double low = std::max(0.0, std::floor(correction_dim(s.beta_fast)));
    double high = std::min(static_cast<double>(rotary_dim - 1), std::ceil(correction_dim(s.beta_slow)));
    if (low == high) high += 0.001;
    const at::Tensor ramp = ((at::arange(rotary_dim / 2, at::kFloat) - low) / (high - low)).clamp(0, 1);
    const at::Tensor extrapolation = 1 - ramp;
    rotary.inv_freq = (1.0 / (s.factor * pos_freqs)) * (1 - extrapolation) + (1.0 / pos_freqs) * extrapolation;
    rotary.attention_scaling = s.mscale_all_dim != 0.0
                                   ? yarn_mscale(s.factor, s.mscale) / yarn_mscale(s.factor, s.mscale_all_dim)
                                   : yarn_mscale(s.factor, 1.0);
  }
  return rotary;
}

std::pair<at::Tensor, at::Tensor> Rotary::tables(const at::Tensor& positions, at::ScalarType dtype) const {
  const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq.to(positions.device());  // [b, s, d/2]
  const at::Tensor emb = at::cat({freqs, freqs}, -1);                                                 // [b, s, d]
  return {(emb.cos() * attention_scaling).to(dtype), (emb.sin() * attention_scaling).to(dtype)};
}

at::Tensor Rotary::apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const {
  at::Tensor y = x;
  if (interleaved) {  // (x0, x1, x2, x3, ...) -> (x0, x2, ..., x1, x3, ...), then rotate-half
    const auto sizes = x.sizes().vec();
    const int64_t d = sizes.back();
    auto split = sizes;
    split.back() = d / 2;
    split.push_back(2);
    y = x.view(split).transpose(-1, -2).reshape(sizes);
  }
  return kernels::rotate_half_embedding(y, cos, sin);
}

}  // namespace aha::policy
