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

// The partial sums of q_i . k_j for Q queries and eight keys k_j of n floats, each key row read
// once for all the queries: lane l of part[i][j] adds the products at l, l + 8, ..., then the
// leftover products in order into lanes 0, 1, ... (the same sums for any Q).
template <int Q>
inline __attribute__((always_inline)) void dot_lanes8(const float* const (&q)[Q], const float* const (&k)[8], int64_t n,
                                                      Lanes (&part)[Q][8]) {
  for (auto& row : part)
    for (auto& p : row) p = splat(0.0f);
  int64_t t = 0;
  for (; t + 8 <= n; t += 8) {
    Lanes qt[Q];
    for (int i = 0; i < Q; ++i) qt[i] = load(q[i] + t);
    for (int j = 0; j < 8; ++j) {
      const Lanes kt = load(k[j] + t);
      for (int i = 0; i < Q; ++i) part[i][j] += qt[i] * kt;
    }
  }
  for (int l = 0; t < n; ++t, ++l)
    for (int j = 0; j < 8; ++j)
      for (int i = 0; i < Q; ++i) part[i][j][l] += q[i][t] * k[j][t];
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

// w_j = exp(w_j - top) in place over the chunks of eight that hold keys 0 .. keys - 1 (lanes past
// the last key hold -inf and become 0); returns their sum, added lane by lane in key order and then
// as ((0+1)+(2+3))+((4+5)+(6+7)).
inline __attribute__((always_inline)) float exp_and_sum(float* w, int64_t keys, float top) {
  Lanes sums = splat(0.0f);
  for (int64_t j0 = 0; j0 < keys; j0 += 8) {
    const Lanes e = lanes::exp_nonpositive(load(w + j0) - splat(top));
    std::memcpy(w + j0, &e, sizeof e);
    sums += e;
  }
  return lanes::sum(sums);
}

// The unnormalised softmax weights w_j = exp(s_j - max s), s_j = q_i . key_at(j) * scale, of keys
// 0 .. keys - 1 for Q queries that read the same keys, into weights[i] (keys + 8 floats each;
// lanes past the last key hold 0), and their sums into totals[i]. Keys go eight at a time; each
// query's arithmetic is the same whatever Q is.
template <int Q, class KeyAt>
inline __attribute__((always_inline)) void softmax_weights(const float* const (&q)[Q], const KeyAt& key_at,
                                                           int64_t keys, int64_t dim, float scale,
                                                           float* const (&weights)[Q], float (&totals)[Q]) {
  const float minus_inf = -std::numeric_limits<float>::infinity();
  Lanes max[Q];
  for (auto& m : max) m = splat(minus_inf);
  for (int64_t j0 = 0; j0 < keys; j0 += 8) {
    const float* k[8];  // past the last key, the last key again: its lanes are masked below
    for (int64_t j = 0; j < 8; ++j) k[j] = key_at(std::min(j0 + j, keys - 1));
    Lanes partial[Q][8];
    dot_lanes8<Q>(q, k, dim, partial);
    const Ints index = Ints{0, 1, 2, 3, 4, 5, 6, 7} + static_cast<int32_t>(j0);
    for (int i = 0; i < Q; ++i) {
      Lanes s = reduce8(partial[i]) * splat(scale);
      s = index < static_cast<int32_t>(keys) ? s : splat(minus_inf);  // past the last key: weight 0
      std::memcpy(weights[i] + j0, &s, sizeof s);
      max[i] = s > max[i] ? s : max[i];
    }
  }
  for (int i = 0; i < Q; ++i) {
    const Lanes m = max[i];
    const float top = std::max(std::max(std::max(m[0], m[1]), std::max(m[2], m[3])),
                               std::max(std::max(m[4], m[5]), std::max(m[6], m[7])));
    totals[i] = exp_and_sum(weights[i], keys, top);
  }
}

// One query's weights: softmax_weights for Q = 1; returns the sum.
template <class KeyAt>
inline __attribute__((always_inline)) float softmax_weights(const float* q, const KeyAt& key_at, int64_t keys,
                                                            int64_t dim, float scale, float* weights) {
  const float* const queries[1] = {q};
  float* const into[1] = {weights};
  float total[1];
  softmax_weights<1>(queries, key_at, keys, dim, scale, into, total);
  return total[0];
}

// out[i] [value_dim] = sum_j weights[i][j] value_at(j) / totals[i] over keys 0 .. keys - 1 for Q
// queries, each value row read once for all of them, added in key order, 32 columns at a time in
// two sixteen-float registers per query (each column's sum is its own: no width or Q changes a bit).
template <int Q, class ValueAt>
inline __attribute__((always_inline)) void weighted_values(const float* const (&weights)[Q], const float (&totals)[Q],
                                                           const ValueAt& value_at, int64_t keys, int64_t value_dim,
                                                           float* const (&out)[Q]) {
  typedef float Wide __attribute__((vector_size(64)));
  int64_t t0 = 0;
  for (; t0 + 32 <= value_dim; t0 += 32) {
    Wide acc[Q][2];
    for (auto& a : acc) a[0] = a[1] = Wide{};
    for (int64_t j = 0; j < keys; ++j) {
      Wide part[2];
      std::memcpy(part, value_at(j) + t0, sizeof part);
      for (int i = 0; i < Q; ++i) {
        const float w = weights[i][j];  // a scalar times a vector is one broadcast, not sixteen inserts
        for (int c = 0; c < 2; ++c) acc[i][c] += w * part[c];
      }
    }
    for (int i = 0; i < Q; ++i) {
      const float t = totals[i];
      const Wide total = {t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t};
      for (int c = 0; c < 2; ++c) {
        const Wide o = acc[i][c] / total;
        std::memcpy(out[i] + t0 + 16 * c, &o, sizeof o);
      }
    }
  }
  for (; t0 + 8 <= value_dim; t0 += 8) {
    Lanes acc[Q];
    for (auto& a : acc) a = splat(0.0f);
    for (int64_t j = 0; j < keys; ++j) {
      const Lanes v = load(value_at(j) + t0);
      for (int i = 0; i < Q; ++i) acc[i] += weights[i][j] * v;
    }
    for (int i = 0; i < Q; ++i) {
      const Lanes o = acc[i] / splat(totals[i]);
      std::memcpy(out[i] + t0, &o, sizeof o);
    }
  }
  for (; t0 < value_dim; ++t0)
    for (int i = 0; i < Q; ++i) {
      float acc = 0.0f;
      for (int64_t j = 0; j < keys; ++j) acc += weights[i][j] * value_at(j)[t0];
      out[i][t0] = acc / totals[i];
    }
}

// One query's weighted values: weighted_values for Q = 1.
template <class ValueAt>
inline __attribute__((always_inline)) void weighted_values(const float* weights, float total, const ValueAt& value_at,
                                                           int64_t keys, int64_t value_dim, float* out) {
  const float* const w[1] = {weights};
  const float totals[1] = {total};
  float* const into[1] = {out};
  weighted_values<1>(w, totals, value_at, keys, value_dim, into);
}

// Heads 0 .. count - 1 of one query position, which read the same keys and values, two at a time:
// out_at(h) = attention of query_at(h). `scores` holds 2 (keys + 8) floats.
template <class QueryAt, class OutAt, class KeyAt, class ValueAt>
inline __attribute__((always_inline)) void attend_heads(int64_t count, const QueryAt& query_at, const OutAt& out_at,
                                                        const KeyAt& key_at, const ValueAt& value_at, int64_t keys,
                                                        int64_t dim, int64_t value_dim, float scale, float* scores) {
  int64_t h = 0;
  for (; h + 2 <= count; h += 2) {
    const float* const q[2] = {query_at(h), query_at(h + 1)};
    float* const w[2] = {scores, scores + keys + 8};
    float totals[2];
    softmax_weights<2>(q, key_at, keys, dim, scale, w, totals);
    const float* const weights[2] = {w[0], w[1]};
    float* const out[2] = {out_at(h), out_at(h + 1)};
    weighted_values<2>(weights, totals, value_at, keys, value_dim, out);
  }
  if (h < count) {
    const float total = softmax_weights(query_at(h), key_at, keys, dim, scale, scores);
    weighted_values(scores, total, value_at, keys, value_dim, out_at(h));
  }
}

}  // namespace aha::kernels
