// The matrix product under every batch-invariant linear layer on the CPU: each output is one
// multiply-add chain over the input features in index order, so a row's result depends on that
// row and the weight alone, never on how many rows go through with it. The cost follows the rows
// there are (no padding to a block), which is what decoding a shrinking batch needs.
#pragma once

#include <cstdint>
#include <vector>

namespace aha::kernels {

// A weight [out_features, in] laid out for the product once, for callers that reuse it.
class PackedWeight {
 public:
  PackedWeight() = default;
  PackedWeight(const float* weight, int64_t out_features, int64_t in);
  int64_t out_features() const { return out_features_; }
  int64_t in() const { return in_; }
  const float* data() const { return panels_.data(); }

 private:
  int64_t out_features_ = 0, in_ = 0;
  std::vector<float> panels_;
};

// out [n, out_features] = x [n, in] weight^T with weight [out_features, in], all row-major float32
// and contiguous, on the calling thread.
void invariant_gemm(const float* x, int64_t n, int64_t in, const float* weight, int64_t out_features, float* out);
// The same with a packed weight: out [n, w.out_features()] = x [n, w.in()] weight^T.
void invariant_gemm(const float* x, int64_t n, const PackedWeight& w, float* out);
// Output columns [first, first + count) of that product (first a multiple of kPanelColumns), into
// the same out [n, w.out_features()]: threads that split a product by columns each read only
// their part of the weight, which is what decoding a few rows, bound by memory, needs.
inline constexpr int64_t kPanelColumns = 32;
void invariant_gemm_columns(const float* x, int64_t n, const PackedWeight& w, int64_t first, int64_t count, float* out);

}  // namespace aha::kernels
