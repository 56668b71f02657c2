// Between ATen tensors and the CUDA launchers: the current stream and the launchers' dtype tag.
// Only CUDA builds include this.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAContext.h>

#include "kernels/cuda_launchers.hpp"

namespace aha::kernels::cuda {

inline cudaStream_t current_stream() { return at::cuda::getCurrentCUDAStream(); }

// float32 or bfloat16; other dtypes are refused with the operation's name.
inline Dtype dtype_of(const at::Tensor& t, const char* op) {
  if (t.scalar_type() == at::kFloat) return Dtype::float32;
  if (t.scalar_type() == at::kBFloat16) return Dtype::bfloat16;
  TORCH_CHECK(false, op, ": CUDA kernels take float32 or bfloat16, not ", t.scalar_type());
}

}  // namespace aha::kernels::cuda
