// Mixture-of-experts dispatch: the (token, slot) pairs a router chose, sorted by expert so each
// expert's rows are contiguous (permute), and the experts' output rows summed back into tokens
// with the routing weights (combine). Both are gathers through an index and its inverse, so
// neither direction needs atomics and the sums keep a fixed order (deterministic on GPUs too).
// CUDA kernels on GPUs, loops over float32 rows on the CPU (ATen's gathers for other dtypes);
// kernels/reference.hpp holds a dense one-hot formula they are tested against.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace aha::kernels {

struct ExpertRouting {
  at::Tensor token_of_row;               // [n * k] int64: the token each expert-sorted row came from
  at::Tensor slot_of_row;                // [n * k] int64: its flat (token, slot) index, token * k + slot
  at::Tensor row_of_slot;                // [n, k] int64: the inverse, where each (token, slot) went
  std::vector<int64_t> rows_per_expert;  // [experts], on the host
};

// experts [n, k] int64 expert ids -> the routing; pairs of one expert keep their token order.
ExpertRouting route_by_expert(const at::Tensor& experts, int64_t num_experts);

// x [n, hidden] -> rows [n * k, hidden], row i = x[token_of_row[i]]; differentiable.
at::Tensor permute_tokens(const at::Tensor& x, const ExpertRouting& routing);

// rows [n * k, hidden], weights [n, k] -> [n, hidden], token t = sum_s weights[t, s] * rows[row_of_slot[t, s]];
// differentiable with respect to rows and weights.
at::Tensor combine_tokens(const at::Tensor& rows, const at::Tensor& weights, const ExpertRouting& routing);

// The CPU's combine on float32 memory, on the calling thread: out [tokens, width], token t =
// ((0 + w[t, 0] * rows[row_of_slot[t, 0]]) + w[t, 1] * rows[row_of_slot[t, 1]]) + ..., each product
// rounded before its sum (weights null: every w is 1). combine_tokens's bits.
void combine_rows(const float* rows, const int64_t* row_of_slot, const float* weights, int64_t tokens, int64_t k,
                  int64_t width, float* out);

}  // namespace aha::kernels
