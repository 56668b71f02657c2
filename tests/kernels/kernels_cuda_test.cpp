// The kernels' CUDA paths against their ATen references. Built into test_kernels_cuda, whose
// main skips (exit 77) on a machine without a CUDA device.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>

#include "tests/kernels/kernel_checks.hpp"

using namespace aha::kernels;

TEST_CASE("CUDA selective log-softmax equals log_softmax and gather, in float32 and bfloat16") {
  checks::selective_log_softmax(at::kCUDA, at::kFloat);
  checks::selective_log_softmax(at::kCUDA, at::kBFloat16);
}

TEST_CASE("the CUDA GRPO token loss equals the formula, and so does its gradient") {
  checks::grpo_token_loss(at::kCUDA);
}

TEST_CASE("CUDA permute, cuBLAS grouped GEMM and combine equal a dense one-hot MoE layer") {
  checks::moe_layer(at::kCUDA, at::kFloat);
  checks::moe_layer(at::kCUDA, at::kBFloat16);
}
