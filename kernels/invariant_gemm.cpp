// invariant_gemm: the weight packed into panels of 32 output columns, then register tiles of six
// rows by 32 columns, each column a multiply-add chain over the input features in order.
// invariant_gemm_columns: the weight unpacked, eight of its rows at a time against sixteen input
// rows in the lanes of a vector: the same multiply-add chains, so the same bits.
#include "kernels/invariant_gemm.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace aha::kernels {

namespace {

typedef float Wide __attribute__((vector_size(64)));  // sixteen floats: one AVX-512 register

constexpr int64_t kColumns = 32;  // output columns per packed panel: two Wide
constexpr int64_t kRows = 6;      // rows per register tile: 12 accumulators

inline __attribute__((always_inline)) Wide load(const float* p) {
  Wide v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// packed [panels, in, kColumns]: panel p, feature k holds weight[p * kColumns + j][k] (0 past the last column).
// Features go in blocks of sixteen (a cache line of each weight row) so reads and writes both stay in cache.
void pack(const float* weight, int64_t in, int64_t out_features, float* packed) {
  const int64_t panels = (out_features + kColumns - 1) / kColumns;
  std::fill_n(packed, panels * in * kColumns, 0.0f);
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t columns = std::min(kColumns, out_features - p * kColumns);
    float* panel = packed + p * in * kColumns;
    for (int64_t k0 = 0; k0 < in; k0 += 16)
      for (int64_t j = 0; j < columns; ++j) {
        const float* row = weight + (p * kColumns + j) * in;
        for (int64_t k = k0; k < std::min(k0 + 16, in); ++k) panel[k * kColumns + j] = row[k];
      }
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

constexpr int64_t kLanes = 16;      // input rows per vector
constexpr int64_t kWeightRows = 8;  // output columns per block: eight accumulators
constexpr int64_t kRowsAhead = 64;  // features ahead whose weights a block asks the memory for

// out[r][o] for the kWeightRows (or 1) weight rows at `w` and every group of kLanes input rows:
// xt [groups, in, kLanes] holds the rows transposed, row r of group g in lane r. Lane r of acc[o]
// is acc = acc + x[r][k] * w[o][k] for k = 0, 1, ...: tile's chain for that output, rounded alike.
template <int O>
inline __attribute__((always_inline)) void weight_rows(const float* xt, int64_t groups, int64_t n, int64_t in,
                                                       const float* w, float* out, int64_t ld) {
  for (int64_t g = 0; g < groups; ++g) {
    const float* lanes = xt + g * in * kLanes;
    Wide acc[O];
    for (int o = 0; o < O; ++o) acc[o] = Wide{};
    for (int64_t k = 0; k < in; ++k) {
      if (g == 0 && k % 16 == 0)  // the first group reads the weight from memory, the others from cache
        for (int o = 0; o < O; ++o) __builtin_prefetch(w + o * in + k + kRowsAhead);  // never faults
      const Wide v = load(lanes + k * kLanes);
      for (int o = 0; o < O; ++o) acc[o] = acc[o] + v * w[o * in + k];
    }
    const int64_t rows = std::min(kLanes, n - g * kLanes);
    for (int64_t r = 0; r < rows; ++r)
      for (int o = 0; o < O; ++o) out[(g * kLanes + r) * ld + o] = acc[o][r];
  }
}

// Columns [first, last) of out (row stride ld) from the transposed rows; compiled as product_columns
// is, and picked by the same test, so both round alike on one machine.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void lane_columns(
    const float* xt, int64_t groups, int64_t n, int64_t in, const float* weight, int64_t first, int64_t last,
    float* out, int64_t ld) {
  int64_t o = first;
  for (; o + kWeightRows <= last; o += kWeightRows)
    weight_rows<kWeightRows>(xt, groups, n, in, weight + o * in, out + o, ld);
  for (; o < last; ++o) weight_rows<1>(xt, groups, n, in, weight + o * in, out + o, ld);
}

}  // namespace

void invariant_gemm(const float* x, int64_t n, int64_t in, const float* weight, int64_t out_features, float* out,
                    int64_t ld) {
  if (n <= 0 || out_features <= 0) return;
  // One panel of columns packed at a time, so the scratch is in x 32 floats whatever the weight
  // (an LM head of 151,936 x 896 would need 545 MB at once); each column's arithmetic is the same.
  thread_local std::vector<float> panel;
  panel.resize(static_cast<std::size_t>(in * kColumns));
  for (int64_t c = 0; c < out_features; c += kColumns) {
    const int64_t columns = std::min(kColumns, out_features - c);
    pack(weight + c * in, in, columns, panel.data());
    product_columns(x, n, in, panel.data(), columns, out + c, ld > 0 ? ld : out_features);
  }
}

void invariant_gemm_columns(const float* x, int64_t n, int64_t in, const float* weight, int64_t out_features,
                            int64_t first, int64_t count, float* out) {
  const int64_t last = std::min(first + count, out_features);
  if (n <= 0 || first >= last) return;
  const int64_t groups = (n + kLanes - 1) / kLanes;
  thread_local std::vector<float> transposed;  // [groups, in, kLanes], zero past the last row
  transposed.assign(static_cast<std::size_t>(groups * in * kLanes), 0.0f);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < in; ++k)
      transposed[static_cast<std::size_t>(((r / kLanes) * in + k) * kLanes + r % kLanes)] = x[r * in + k];
  lane_columns(transposed.data(), groups, n, in, weight, first, last, out, out_features);
}

}  // namespace aha::kernels
