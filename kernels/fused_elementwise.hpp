// The decoder's per-token operations fused into one pass each on the CPU (float32): RMSNorm,
// rotate-half rotary embeddings and SwiGLU's silu(gate) * up. Each row's result depends on that
// row alone, so sampling and training get the same bits; each is one operator instead of the
// five to ten ATen ones it replaces, with a fused backward. Elsewhere they are ATen composites.
#pragma once

#include <ATen/core/Tensor.h>

namespace aha::kernels {

// weight * x / sqrt(mean(x^2) + eps) over the last dimension: x [..., d], weight [d].
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1] for x = [x1, x2] halves:
// x [b, heads, s, d] (last dimension contiguous), cos and sin [b, s, d] (no gradient).
at::Tensor rotate_half_embedding(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// silu(gate) * up = gate * sigmoid(gate) * up, elementwise; gate and up of one shape.
at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up);

// The same three on float32 memory, on the calling thread, with the same bits per element:
// y [rows, d] = rms_norm(x [rows, d]); out [rows, heads, d] = x [rows, heads, d] rotated by cos,
// sin [rows, d] (out apart from x); out [n] = silu(gate [n]) * up [n].
void rms_norm_rows(const float* x, const float* weight, int64_t rows, int64_t d, double eps, float* y);
void rotate_half_rows(const float* x, const float* cos, const float* sin, int64_t rows, int64_t heads, int64_t d,
                      float* out);
void silu_mul_rows(const float* gate, const float* up, int64_t n, float* out);

}  // namespace aha::kernels
