// Batch-invariant numerics on the CPU: operations whose result for one row does not depend on
// which or how many other rows go through with it. Sampling computes one token per row, the
// trainer whole sequences; with these operations both give bit-identical log-probs for the same
// weights and tokens. A linear layer runs invariant_gemm (one multiply-add chain per output; MKL
// picks other kernels for other row counts, and splits the reduction across threads), attention
// products get at least 16 rows, and the elementwise functions are built from operations whose
// vectorised and scalar paths agree.
// On other devices, or when switched off, these are the plain ATen operations.
#pragma once

#include <ATen/core/Tensor.h>

namespace aha::kernels {

// Whether `x` takes the batch-invariant path: tensors on the CPU, unless it is switched off.
bool batch_invariant(const at::Tensor& x);
// For the whole process (on by default): off, the CPU runs ATen's own kernels, faster and with
// log-probs that differ between sampling and training in the last bits.
void set_batch_invariant(bool enabled);

// x [..., in] -> x weight^T + bias [..., out]; weight [out, in], bias [out] or undefined.
at::Tensor invariant_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

// c [m, n] = op(a) op(b) in row-major float32 memory (op transposes when asked; a is [m, k] or,
// transposed, stored [k, m]; likewise b), one serial product on the calling thread; with
// `accumulate`, c += op(a) op(b).
void serial_gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate = false);

// a [batch, m, k] @ b [batch, k, n] -> [batch, m, n] for small k and n (attention's head and
// chunk sizes): each row's values do not depend on m.
at::Tensor invariant_bmm(const at::Tensor& a, const at::Tensor& b);

// sigmoid(x) = 1 / (1 + exp(-x)).
at::Tensor invariant_sigmoid(const at::Tensor& x);

}  // namespace aha::kernels
