// CUDA GRPO per-token loss: one thread per token, forward and backward.
#include "kernels/cuda_common.cuh"
#include "kernels/cuda_launchers.hpp"

namespace aha::kernels::cuda {

namespace {

constexpr unsigned kThreads = 256;

struct TokenTerms {
  float loss, grad;  // the token's loss and d loss / d logp
};

__device__ TokenTerms token_terms(const GrpoTokenArgs& a, int64_t i) {
  const float advantage = a.advantages[i / a.cols];
  const float ratio = __expf(a.logp[i] - a.old_logp[i]);
  const float clipped = fminf(fmaxf(ratio, 1.0f - a.epsilon_low), 1.0f + a.epsilon_high);
  const float unclipped_term = ratio * advantage, clipped_term = clipped * advantage;
  TokenTerms t{-fminf(unclipped_term, clipped_term), unclipped_term <= clipped_term ? -advantage * ratio : 0.0f};
  if (a.ref_logp) {
    const float log_ref_ratio = a.ref_logp[i] - a.logp[i];
    const float ref_ratio = __expf(log_ref_ratio);
    t.loss += a.beta * (ref_ratio - log_ref_ratio - 1.0f);
    t.grad += a.beta * (1.0f - ref_ratio);
  }
  return t;
}

__global__ void forward_kernel(GrpoTokenArgs args, float* loss) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < args.rows * args.cols) loss[i] = token_terms(args, i).loss;
}

__global__ void backward_kernel(GrpoTokenArgs args, const float* grad_loss, float* grad_logp) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < args.rows * args.cols) grad_logp[i] = grad_loss[i] * token_terms(args, i).grad;
}

}  // namespace

void grpo_token_loss_forward(const GrpoTokenArgs& args, float* loss, cudaStream_t stream) {
  const int64_t n = args.rows * args.cols;
  if (n == 0) return;
  forward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(args, loss);
  check_launch("grpo_token_loss_forward");
}

void grpo_token_loss_backward(const GrpoTokenArgs& args, const float* grad_loss, float* grad_logp,
                              cudaStream_t stream) {
  const int64_t n = args.rows * args.cols;
  if (n == 0) return;
  backward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(args, grad_loss, grad_logp);
  check_launch("grpo_token_loss_backward");
}

}  // namespace aha::kernels::cuda
