// The entry points of the .cu files: raw device pointers, sizes and a stream, so that the CUDA
// sources need no LibTorch headers. Only CUDA builds compile or call these.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace aha::kernels::cuda {

enum class Dtype { float32, bfloat16 };

// Selective log-softmax: one block per row.
void selective_log_softmax_forward(const void* logits, Dtype dtype, const int64_t* targets, int64_t rows, int64_t vocab,
                                   float scale, float* logprobs, float* logsumexp, float* entropy, cudaStream_t stream);
void selective_log_softmax_backward(const float* grad_logprobs, const void* logits, Dtype dtype, const int64_t* targets,
                                    const float* logsumexp, int64_t rows, int64_t vocab, float scale, void* grad_logits,
                                    cudaStream_t stream);

// GRPO per-token loss over [rows, cols] float32; `ref_logp` may be null when beta = 0.
struct GrpoTokenArgs {
  const float* logp;
  const float* old_logp;
  const float* ref_logp;
  const float* advantages;  // [rows]
  int64_t rows, cols;
  float epsilon_low, epsilon_high, beta;
};
void grpo_token_loss_forward(const GrpoTokenArgs& args, float* loss, cudaStream_t stream);
void grpo_token_loss_backward(const GrpoTokenArgs& args, const float* grad_loss, float* grad_logp, cudaStream_t stream);

// out[i, :] = row_scale[i] * in[index[i], :] for i < rows (row_scale null: 1); rows of `width`.
void gather_rows(const void* in, const int64_t* index, const float* row_scale, int64_t rows, int64_t width, Dtype dtype,
                 void* out, cudaStream_t stream);
// out[t, :] = sum_s weights[t, s] * rows[row_of_slot[t, s], :] over k slots (weights null: 1),
// float accumulation; with null weights it is the permutation's backward.
void combine_slots(const void* rows, const int64_t* row_of_slot, const float* weights, int64_t tokens, int64_t k,
                   int64_t width, Dtype dtype, void* out, cudaStream_t stream);

}  // namespace aha::kernels::cuda
