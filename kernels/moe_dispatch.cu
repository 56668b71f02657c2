// CUDA gathers of the MoE dispatch: one thread per output element, float accumulation over slots.
#include "kernels/cuda_common.cuh"
#include "kernels/cuda_launchers.hpp"

namespace aha::kernels::cuda {

namespace {

constexpr unsigned kThreads = 256;

template <typename T>
__global__ void gather_kernel(const T* in, const int64_t* index, const float* row_scale, int64_t rows, int64_t width,
                              T* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * width) return;
  const int64_t row = i / width, col = i % width;
  const float v = load(in, index[row] * width + col);
  store(out, i, row_scale ? row_scale[row] * v : v);
}

// out[t, c] = sum_s (weights ? weights[t, s] : 1) * rows[row_of_slot[t, s], c]
template <typename T>
__global__ void slots_kernel(const T* rows, const int64_t* row_of_slot, const float* weights, int64_t tokens, int64_t k,
                             int64_t width, T* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= tokens * width) return;
  const int64_t token = i / width, col = i % width;
  float sum = 0.0f;
  for (int64_t s = 0; s < k; ++s) {
    const float v = load(rows, row_of_slot[token * k + s] * width + col);
    sum += weights ? weights[token * k + s] * v : v;
  }
  store(out, i, sum);
}

template <typename T>
void launch_gather(const void* in, const int64_t* index, const float* row_scale, int64_t rows, int64_t width, void* out,
                   cudaStream_t stream) {
  gather_kernel<<<blocks_for(rows * width, kThreads), kThreads, 0, stream>>>(
      static_cast<const T*>(in), index, row_scale, rows, width, static_cast<T*>(out));
}

template <typename T>
void launch_slots(const void* rows, const int64_t* row_of_slot, const float* weights, int64_t tokens, int64_t k,
                  int64_t width, void* out, cudaStream_t stream) {
  slots_kernel<<<blocks_for(tokens * width, kThreads), kThreads, 0, stream>>>(
      static_cast<const T*>(rows), row_of_slot, weights, tokens, k, width, static_cast<T*>(out));
}

}  // namespace

void gather_rows(const void* in, const int64_t* index, const float* row_scale, int64_t rows, int64_t width, Dtype dtype,
                 void* out, cudaStream_t stream) {
  if (rows * width == 0) return;
  if (dtype == Dtype::float32) launch_gather<float>(in, index, row_scale, rows, width, out, stream);
  else launch_gather<__nv_bfloat16>(in, index, row_scale, rows, width, out, stream);
  check_launch("gather_rows");
}

void combine_slots(const void* rows, const int64_t* row_of_slot, const float* weights, int64_t tokens, int64_t k,
                   int64_t width, Dtype dtype, void* out, cudaStream_t stream) {
  if (tokens * width == 0) return;
  if (dtype == Dtype::float32) launch_slots<float>(rows, row_of_slot, weights, tokens, k, width, out, stream);
  else launch_slots<__nv_bfloat16>(rows, row_of_slot, weights, tokens, k, width, out, stream);
  check_launch("combine_slots");
}

}  // namespace aha::kernels::cuda
