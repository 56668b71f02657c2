// Linear layers of several experts over one tensor of expert-sorted rows: group g's rows times
// weights[g]^T. On GPUs, forward and backward are one cuBLAS grouped GEMM call each (every
// expert one group); on the CPU one product per expert, batch-invariant when that is on.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace aha::kernels {

// x [rows, in] in groups of `group_rows` consecutive rows (summing to rows), weights[g] [out, in]
// -> [rows, out]; differentiable with respect to x and every weight.
at::Tensor grouped_linear(const at::Tensor& x, const std::vector<int64_t>& group_rows,
                          const std::vector<at::Tensor>& weights);

}  // namespace aha::kernels
