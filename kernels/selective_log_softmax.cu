// CUDA selective log-softmax: one block per row reads the row once, keeping a running maximum m,
// s = sum exp(x - m) and t = sum exp(x - m) * x per thread (rescaled when m grows), then merges
// the threads' triples. log-sum-exp = m + log s; entropy = log-sum-exp - t / s.
#include "kernels/cuda_common.cuh"
#include "kernels/cuda_launchers.hpp"

#include <cfloat>

namespace aha::kernels::cuda {

namespace {

constexpr unsigned kThreads = 512;

struct Running {
  float max, sum, weighted;  // m, s, t
};

__device__ Running merge(Running a, Running b) {
  if (a.max < b.max) {
    const Running t = a;
    a = b;
    b = t;
  }
  if (b.max == -INFINITY) return a;
  const float f = __expf(b.max - a.max);
  return {a.max, a.sum + b.sum * f, a.weighted + b.weighted * f};
}

__device__ Running warp_merge(Running r) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const Running other{__shfl_xor_sync(0xffffffff, r.max, offset), __shfl_xor_sync(0xffffffff, r.sum, offset),
                        __shfl_xor_sync(0xffffffff, r.weighted, offset)};
    r = merge(r, other);
  }
  return r;
}

template <typename T>
__global__ void forward_kernel(const T* logits, const int64_t* targets, int64_t vocab, float scale, float* logprobs,
                               float* logsumexp, float* entropy) {
  const int64_t row = blockIdx.x;
  const T* x = logits + row * vocab;
  Running r{-INFINITY, 0.0f, 0.0f};
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) {
    const float v = load(x, j) * scale;
    if (v > r.max) {
      const float f = r.max == -INFINITY ? 0.0f : __expf(r.max - v);
      r = {v, r.sum * f + 1.0f, r.weighted * f + v};
    } else if (v != -INFINITY) {
      const float e = __expf(v - r.max);
      r.sum += e;
      r.weighted += e * v;
    }
  }
  __shared__ Running warps[kThreads / 32];
  r = warp_merge(r);
  if (threadIdx.x % 32 == 0) warps[threadIdx.x / 32] = r;
  __syncthreads();
  if (threadIdx.x < 32) {
    r = threadIdx.x < blockDim.x / 32 ? warps[threadIdx.x] : Running{-INFINITY, 0.0f, 0.0f};
    r = warp_merge(r);
    if (threadIdx.x == 0) {
      const float lse = r.max + logf(r.sum);
      logsumexp[row] = lse;
      logprobs[row] = load(x, targets[row]) * scale - lse;
      if (entropy) entropy[row] = lse - r.weighted / r.sum;
    }
  }
}

// grad[row, j] = g[row] * scale * (1[j = target] - exp(scale * x - lse)); grid: (rows, column blocks)
template <typename T>
__global__ void backward_kernel(const float* grad_logprobs, const T* logits, const int64_t* targets,
                                const float* logsumexp, int64_t vocab, float scale, T* grad_logits) {
  const int64_t row = blockIdx.x;
  const int64_t j = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (j >= vocab) return;
  const int64_t at = row * vocab + j;
  const float p = __expf(load(logits, at) * scale - logsumexp[row]);
  store(grad_logits, at, grad_logprobs[row] * scale * ((j == targets[row] ? 1.0f : 0.0f) - p));
}

}  // namespace

void selective_log_softmax_forward(const void* logits, Dtype dtype, const int64_t* targets, int64_t rows, int64_t vocab,
                                   float scale, float* logprobs, float* logsumexp, float* entropy,
                                   cudaStream_t stream) {
  if (rows == 0) return;
  if (dtype == Dtype::float32)
    forward_kernel<<<rows, kThreads, 0, stream>>>(static_cast<const float*>(logits), targets, vocab, scale, logprobs,
                                                  logsumexp, entropy);
  else
    forward_kernel<<<rows, kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(logits), targets, vocab, scale,
                                                  logprobs, logsumexp, entropy);
  check_launch("selective_log_softmax_forward");
}

void selective_log_softmax_backward(const float* grad_logprobs, const void* logits, Dtype dtype, const int64_t* targets,
                                    const float* logsumexp, int64_t rows, int64_t vocab, float scale, void* grad_logits,
                                    cudaStream_t stream) {
  if (rows == 0) return;
  const dim3 grid(static_cast<unsigned>(rows), blocks_for(vocab, 256));
  if (dtype == Dtype::float32)
    backward_kernel<<<grid, 256, 0, stream>>>(grad_logprobs, static_cast<const float*>(logits), targets, logsumexp,
                                              vocab, scale, static_cast<float*>(grad_logits));
  else
    backward_kernel<<<grid, 256, 0, stream>>>(grad_logprobs, static_cast<const __nv_bfloat16*>(logits), targets,
                                              logsumexp, vocab, scale, static_cast<__nv_bfloat16*>(grad_logits));
  check_launch("selective_log_softmax_backward");
}

}  // namespace aha::kernels::cuda
