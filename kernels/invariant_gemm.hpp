// The matrix product under every batch-invariant linear layer on the CPU: each output is one
// multiply-add chain over the input features in index order, so a row's result depends on that
// row and the weight alone, never on how many rows go through with it. The cost follows the rows
// there are (no padding to a block), which is what decoding a shrinking batch needs.
#pragma once

#include <cstdint>

namespace aha::kernels {

// out [n, out_features] = x [n, in] weight^T with weight [out_features, in], all row-major float32
// and contiguous, on the calling thread; out's rows lie `ld` floats apart (0: out_features), so a
// thread can write its share of another product's columns.
void invariant_gemm(const float* x, int64_t n, int64_t in, const float* weight, int64_t out_features, float* out,
                    int64_t ld = 0);
// Output columns [first, first + count) of that product, into the same out [n, out_features], read
// from the weight where it lies: the same bits, with no packed copy. Sixteen rows at a time go
// through the lanes of one vector, each lane a row's multiply-add chain, so a few rows (decoding,
// bound by memory) cost what reading the weight once costs. Threads that split a product by
// columns each read only their part of the weight.
void invariant_gemm_columns(const float* x, int64_t n, int64_t in, const float* weight, int64_t out_features,
                            int64_t first, int64_t count, float* out);

}  // namespace aha::kernels
