// invariant_gemm: the weight packed into panels of 32 output columns, then register tiles of six
// rows by 32 columns, each column a multiply-add chain over the input features in order.
#include "kernels/invariant_gemm.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace aha::kernels {

namespace {

typedef float Wide __attribute__((vector_size(64)));  // sixteen floats: one AVX-512 register

constexpr int64_t kColumns = kPanelColumns;  // output columns per packed panel: two Wide
constexpr int64_t kRows = 6;      // rows per register tile: 12 accumulators
// Features ahead whose weights a tile asks the memory for (4 kB): decoding a few rows does too
// little arithmetic per byte for the hardware prefetcher alone to keep the memory busy.
constexpr int64_t kPrefetchFeatures = 32;

inline __attribute__((always_inline)) Wide load(const float* p) {
  Wide v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// packed [panels, in, kColumns]: panel p, feature k holds weight[p * kColumns + j][k] (0 past the last column).
void pack(const float* weight, int64_t in, int64_t out_features, float* packed) {
  const int64_t panels = (out_features + kColumns - 1) / kColumns;
  std::fill_n(packed, panels * in * kColumns, 0.0f);
  for (int64_t o = 0; o < out_features; ++o) {
    float* column = packed + (o / kColumns) * in * kColumns + o % kColumns;
    const float* row = weight + o * in;
    for (int64_t k = 0; k < in; ++k) column[k * kColumns] = row[k];
  }
}

// out [R, columns] (row stride ld) = x [R, in] times one panel [in, kColumns]. Every output is
// acc = acc + x[r][k] * w[k] for k = 0, 1, ..., whatever R is: a fused multiply-add where the
// variant has one (this file is compiled to contract it), a product and a sum elsewhere.
template <int R>
inline __attribute__((always_inline)) void tile(const float* x, int64_t in, const float* panel, float* out, int64_t ld,
                                                int64_t columns) {
  Wide acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = Wide{};
  for (int64_t k = 0; k < in; ++k) {
    const Wide w0 = load(panel + k * kColumns), w1 = load(panel + k * kColumns + 16);
    __builtin_prefetch(panel + (k + kPrefetchFeatures) * kColumns);  // never faults past the end
    __builtin_prefetch(panel + (k + kPrefetchFeatures) * kColumns + 16);
    for (int r = 0; r < R; ++r) {
      const float v = x[r * in + k];
      acc[r][0] = acc[r][0] + v * w0;
      acc[r][1] = acc[r][1] + v * w1;
    }
  }
  for (int r = 0; r < R; ++r) {
    if (columns == kColumns) {
      std::memcpy(out + r * ld, &acc[r][0], sizeof(Wide));
      std::memcpy(out + r * ld + 16, &acc[r][1], sizeof(Wide));
    } else {
      float full[kColumns];
      std::memcpy(full, &acc[r][0], sizeof(Wide));
      std::memcpy(full + 16, &acc[r][1], sizeof(Wide));
      std::copy_n(full, columns, out + r * ld);
    }
  }
}

// out [n, columns] with row stride ld = x [n, in] times one packed panel of columns <= 32.
// Compiled for AVX-512, AVX2 with FMA and plain x86-64, picked when the library loads: one
// machine always runs the same variant, so sampling and training agree bit for bit.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void product_columns(
    const float* x, int64_t n, int64_t in, const float* panel, int64_t columns, float* out, int64_t ld) {
  int64_t r = 0;
  for (; r + kRows <= n; r += kRows) tile<kRows>(x + r * in, in, panel, out + r * ld, ld, columns);
  const float* xr = x + r * in;
  float* o = out + r * ld;
  switch (n - r) {
    case 5: tile<5>(xr, in, panel, o, ld, columns); break;
    case 4: tile<4>(xr, in, panel, o, ld, columns); break;
    case 3: tile<3>(xr, in, panel, o, ld, columns); break;
    case 2: tile<2>(xr, in, panel, o, ld, columns); break;
    case 1: tile<1>(xr, in, panel, o, ld, columns); break;
    default: break;
  }
}

void product(const float* x, int64_t n, int64_t in, const float* packed, int64_t out_features, float* out) {
  for (int64_t c = 0; c < out_features; c += kColumns)
    product_columns(x, n, in, packed + (c / kColumns) * in * kColumns, std::min(kColumns, out_features - c), out + c,
                    out_features);
}

}  // namespace

PackedWeight::PackedWeight(const float* weight, int64_t out_features, int64_t in)
    : out_features_(out_features), in_(in),
      panels_(static_cast<std::size_t>((out_features + kColumns - 1) / kColumns * in * kColumns)) {
  pack(weight, in, out_features, panels_.data());
}

void invariant_gemm(const float* x, int64_t n, const PackedWeight& w, float* out) {
  if (n > 0 && w.out_features() > 0) product(x, n, w.in(), w.data(), w.out_features(), out);
}

void invariant_gemm_columns(const float* x, int64_t n, const PackedWeight& w, int64_t first, int64_t count, float* out) {
  if (n <= 0) return;
  const int64_t last = std::min(first + count, w.out_features());
  for (int64_t c = first; c < last; c += kColumns)
    product_columns(x, n, w.in(), w.data() + (c / kColumns) * w.in() * kColumns, std::min(kColumns, last - c), out + c,
                    w.out_features());
}

void invariant_gemm(const float* x, int64_t n, int64_t in, const float* weight, int64_t out_features, float* out) {
  if (n <= 0 || out_features <= 0) return;
  // One panel of columns packed at a time, so the scratch is in x 32 floats whatever the weight
  // (an LM head of 151,936 x 896 would need 545 MB at once); each column's arithmetic is the same.
  thread_local std::vector<float> panel;
  panel.resize(static_cast<std::size_t>(in * kColumns));
  for (int64_t c = 0; c < out_features; c += kColumns) {
    const int64_t columns = std::min(kColumns, out_features - c);
    pack(weight + c * in, in, columns, panel.data());
    product_columns(x, n, in, panel.data(), columns, out + c, out_features);
  }
}

}  // namespace aha::kernels
