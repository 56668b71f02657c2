// One query's attention, the arithmetic every CPU attention kernel shares: its softmax weights over
// keys 0 .. keys - 1 and the weighted sum of their values. Keys and values are found through
// accessors (key j of a cache row, of a padded batch, of a prompt and then a completion), and
// every sum runs in an order fixed by the key and column indices alone, so one query gets the
// same bits wherever its keys are stored. Always inlined into callers compiled without
// multiply-add contraction (see vector_lanes.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/vector_lanes.hpp"

namespace aha::kernels {

using lanes::Ints;
using lanes::Lanes;
using lanes::load;
using lanes::splat;

// The partial sums of q . k_j for eight keys k_j of n floats: lane l of part[j] adds the
// products at l, l + 8, ..., then the leftover products in order into lanes 0, 1, ...
inline __attribute__((always_inline)) void dot_lanes8(const float* q, const float* const (&k)[8], int64_t n, Lanes (&part)[8]) {
  for (auto& p : part) p = splat(0.0f);
  int64_t t = 0;
  for (; t + 8 <= n; t += 8) {
    const Lanes qt = load(q + t);
    for (int j = 0; j < 8; ++j) part[j] += qt * load(k[j] + t);
  }
  for (int l = 0; t < n; ++t, ++l)
    for (int j = 0; j < 8; ++j) part[j][l] += q[t] * k[j][t];
}

// Neighbouring lanes of x and y added within each half of eight lanes:
// [x0+x1, x2+x3, y0+y1, y2+y3, x4+x5, x6+x7, y4+y5, y6+y7]. (No lane crosses the halves, so
// it is one shuffle pair and an add on AVX.)
inline __attribute__((always_inline)) Lanes pair_sums(Lanes x, Lanes y) {
  const Ints even = {0, 2, 8, 10, 4, 6, 12, 14}, odd = {1, 3, 9, 11, 5, 7, 13, 15};
  return __builtin_shuffle(x, y, even) + __builtin_shuffle(x, y, odd);
}

// Lane j of the result is the sum of s[j]'s lanes as ((0+1)+(2+3))+((4+5)+(6+7)): eight
// reductions at once, each in the same order as any other.
inline __attribute__((always_inline)) Lanes reduce8(const Lanes (&s)[8]) {
  // [A0123, B0123, C0123, D0123, A4567, B4567, C4567, D4567] and the same for E..H.
  const Lanes first = pair_sums(pair_sums(s[0], s[1]), pair_sums(s[2], s[3]));
  const Lanes second = pair_sums(pair_sums(s[4], s[5]), pair_sums(s[6], s[7]));
  const Ints low = {0, 1, 2, 3, 8, 9, 10, 11}, high = {4, 5, 6, 7, 12, 13, 14, 15};
  return __builtin_shuffle(first, second, low) + __builtin_shuffle(first, second, high);
}

// The unnormalised softmax weights w_j = exp(s_j - max s), s_j = q . key_at(j) * scale, of keys
// 0 .. keys - 1, into `weights` (keys + 8 floats; lanes past the last key hold 0); returns their
// sum. Keys go eight at a time.
template <class KeyAt>
inline __attribute__((always_inline)) float softmax_weights(const float* q, const KeyAt& key_at, int64_t keys,
                                                            int64_t dim, float scale, float* weights) {
  const float minus_inf = -std::numeric_limits<float>::infinity();
  Lanes max = splat(minus_inf);
  for (int64_t j0 = 0; j0 < keys; j0 += 8) {
    const float* k[8];  // past the last key, the last key again: its lanes are masked below
    for (int64_t j = 0; j < 8; ++j) k[j] = key_at(std::min(j0 + j, keys - 1));
    Lanes partial[8];
    dot_lanes8(q, k, dim, partial);
    Lanes s = reduce8(partial) * splat(scale);
    const Ints index = Ints{0, 1, 2, 3, 4, 5, 6, 7} + static_cast<int32_t>(j0);
    s = index < static_cast<int32_t>(keys) ? s : splat(minus_inf);  // past the last key: weight 0
    std::memcpy(weights + j0, &s, sizeof s);
    max = s > max ? s : max;
  }
  const float top = std::max(std::max(std::max(max[0], max[1]), std::max(max[2], max[3])),
                             std::max(std::max(max[4], max[5]), std::max(max[6], max[7])));
  Lanes sums = splat(0.0f);
  for (int64_t j0 = 0; j0 < keys; j0 += 8) {
    const Lanes w = lanes::exp_nonpositive(load(weights + j0) - splat(top));
    std::memcpy(weights + j0, &w, sizeof w);
    sums += w;
  }
  return ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]));
}

// out [value_dim] = sum_j weights[j] value_at(j) / total over keys 0 .. keys - 1, added in key
// order, 32 columns at a time in four registers.
template <class ValueAt>
inline __attribute__((always_inline)) void weighted_values(const float* weights, float total_sum, const ValueAt& value_at,
                                                           int64_t keys, int64_t value_dim, float* out) {
  const Lanes total = splat(total_sum);
  int64_t t0 = 0;
  for (; t0 + 32 <= value_dim; t0 += 32) {
    Lanes acc[4] = {splat(0.0f), splat(0.0f), splat(0.0f), splat(0.0f)};
    for (int64_t j = 0; j < keys; ++j) {
      const float w = weights[j];  // a scalar times a vector is one broadcast, not eight inserts
      const float* v = value_at(j) + t0;
      for (int c = 0; c < 4; ++c) acc[c] += w * load(v + 8 * c);
    }
    for (int c = 0; c < 4; ++c) {
      const Lanes o = acc[c] / total;
      std::memcpy(out + t0 + 8 * c, &o, sizeof o);
    }
  }
  for (; t0 + 8 <= value_dim; t0 += 8) {
    Lanes acc = splat(0.0f);
    for (int64_t j = 0; j < keys; ++j) acc += weights[j] * load(value_at(j) + t0);
    const Lanes o = acc / total;
    std::memcpy(out + t0, &o, sizeof o);
  }
  for (; t0 < value_dim; ++t0) {
    float acc = 0.0f;
    for (int64_t j = 0; j < keys; ++j) acc += weights[j] * value_at(j)[t0];
    out[t0] = acc / total[0];
  }
}

}  // namespace aha::kernels
