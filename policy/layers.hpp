// The small building blocks of the decoder: RMSNorm, rotary position embeddings (rotate-half and
// interleaved layouts, YaRN), and the SwiGLU MLP used by dense layers and by every expert.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "policy/model_config.hpp"

namespace aha::policy {

// y = w * x / sqrt(mean(x^2) + eps), computed in float32 and cast back.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);  // [..., dim] -> [..., dim]

 private:
  at::Tensor weight_;
  double eps_;
};
TORCH_MODULE(RMSNorm);

// x through a torch::nn::Linear's weight and bias, batch-invariantly on the CPU.
at::Tensor project(const torch::nn::Linear& layer, const at::Tensor& x);

// down(silu(gate(x)) * up(x)).
class SwiGLUImpl : public torch::nn::Module {
 public:
  SwiGLUImpl(int64_t hidden, int64_t intermediate);
  at::Tensor forward(const at::Tensor& x);  // [..., hidden] -> [..., hidden]
  // The projections' weights [out, in], for running many experts at once.
  const at::Tensor& gate_weight() const { return gate_proj_->weight; }
  const at::Tensor& up_weight() const { return up_proj_->weight; }
  const at::Tensor& down_weight() const { return down_proj_->weight; }

 private:
  torch::nn::Linear gate_proj_{nullptr}, up_proj_{nullptr}, down_proj_{nullptr};
};
TORCH_MODULE(SwiGLU);

// cos and sin tables for given positions; `rotary_dim` is the rotated part of a head.
struct Rotary {
  at::Tensor inv_freq;             // [rotary_dim / 2], float32
  double attention_scaling = 1.0;  // YaRN multiplies cos and sin by this
  bool interleaved = false;

  static Rotary from_config(const ModelConfig& config, int64_t rotary_dim);
  // positions [batch, seq] -> cos, sin [batch, seq, rotary_dim] in `dtype`
  std::pair<at::Tensor, at::Tensor> tables(const at::Tensor& positions, at::ScalarType dtype) const;
  // x [batch, heads, seq, rotary_dim] rotated by the tables
  at::Tensor apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const;
};

// The YaRN magnitude correction: 0.1 * mscale * ln(factor) + 1 for factor > 1.
double yarn_mscale(double factor, double mscale);

}  // namespace aha::policy
