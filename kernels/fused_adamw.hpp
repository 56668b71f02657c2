// AdamW's update of one float32 parameter in a single pass: the weight decay, both moments and
// the step go over the elements a block at a time on every core, with no temporary the size of
// the parameter. Each element goes through torch::optim::AdamW::step's operations in its order,
// with its multiply-adds and ATen's own square root, so the results are the same bits as
// torch's step (tests/rl/adamw_step_test.cpp) and its state stays torch's.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace aha::kernels {

struct AdamWStep {
  double lr = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  int64_t step = 1;  // this update's count, from 1: the bias corrections 1 - beta^step
};

// Whether fused_adamw takes these tensors: float32, contiguous, on the CPU, of one size.
bool fused_adamw_applies(const at::Tensor& param, const at::Tensor& grad);

// param, exp_avg and exp_avg_sq updated in place from grad (all [n], float32, contiguous, CPU).
void fused_adamw(const at::Tensor& param, const at::Tensor& grad, const at::Tensor& exp_avg,
                 const at::Tensor& exp_avg_sq, const AdamWStep& step);

}  // namespace aha::kernels
