// Attention for a block of queries that share their keys (a packed sequence on the CPU), a tile
// at a time: scores of a few queries against N keys laid out by dimension, a query's softmax, and
// the product of a few rows with a row-major matrix. A query's scores and weights take the
// arithmetic of attention_rows.hpp to the bit: lane l of a dot product adds dimensions l, l + 8,
// ..., the lanes add as ((0+1)+(2+3))+((4+5)+(6+7)), and weighted values add key by key. So a
// tile gives the bits a decoding step gives the same query. Always inlined into callers compiled
// without multiply-add contraction, at N = 16 (AVX-512) or 8 lanes; both round alike.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/attention_rows.hpp"

namespace aha::kernels::tiles {

#define AHA_TILE inline __attribute__((always_inline))

template <int N>
struct VectorOf {
  typedef float type __attribute__((vector_size(N * sizeof(float))));
};
template <int N>
using Vec = typename VectorOf<N>::type;

template <int N>
AHA_TILE Vec<N> load(const float* p) {
  Vec<N> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <int N>
AHA_TILE void store(float* p, Vec<N> v) {
  std::memcpy(p, &v, sizeof v);
}

constexpr int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// scores[r] [N] = scale * (q[r] . key j) for R queries of `dim` floats and the N keys j0 .. j0 + N - 1
// of keys_by_dim, where key j's element t sits at keys_by_dim[t * ld + j].
template <int N, int R>
AHA_TILE void score_tile(const float* const (&q)[R], const float* keys_by_dim, int64_t ld, int64_t dim, float scale,
                         Vec<N> (&scores)[R]) {
  Vec<N> part[R][8];
  for (auto& row : part)
    for (auto& p : row) p = Vec<N>{};
  const int64_t whole = dim / 8 * 8;
  for (int64_t t0 = 0; t0 < whole; t0 += 8)
    for (int l = 0; l < 8; ++l) {
      const Vec<N> k = load<N>(keys_by_dim + (t0 + l) * ld);
      for (int r = 0; r < R; ++r) part[r][l] += q[r][t0 + l] * k;
    }
  for (int l = 0; l < 8; ++l)  // the leftover dimensions, into lanes 0, 1, ... as dot_lanes8 adds them
    if (whole + l < dim) {
      const Vec<N> k = load<N>(keys_by_dim + (whole + l) * ld);
      for (int r = 0; r < R; ++r) part[r][l] += q[r][whole + l] * k;
    }
  for (int r = 0; r < R; ++r)
    scores[r] = (((part[r][0] + part[r][1]) + (part[r][2] + part[r][3])) +
                 ((part[r][4] + part[r][5]) + (part[r][6] + part[r][7]))) *
                scale;
}

// A query's softmax weights in place, from its scores s_j for j < keys: w_j = exp(s_j - max s),
// then 0 up to `width` (at least keys rounded up to eight);
// returns their sum. The order is softmax_weights', so the weights and sum are the same bits.
AHA_TILE float softmax_row(float* s, int64_t keys, int64_t width) {
  const float minus_inf = -std::numeric_limits<float>::infinity();
  std::fill(s + keys, s + round_up(keys, 8), minus_inf);  // the lanes of the last chunk past the keys
  Lanes most = splat(minus_inf);
  for (int64_t j0 = 0; j0 < keys; j0 += 8) {
    const Lanes chunk = lanes::load(s + j0);
    most = chunk > most ? chunk : most;
  }
  const float top = std::max(std::max(std::max(most[0], most[1]), std::max(most[2], most[3])),
                             std::max(std::max(most[4], most[5]), std::max(most[6], most[7])));
  const float total = exp_and_sum(s, keys, top);
  std::fill(s + round_up(keys, 8), s + width, 0.0f);
  return total;
}

// c[r][0 .. cols) = sum over k < depth, in order, of a[r][k] b[k][0 .. cols) for rows r < rows <= R,
// a and b and c row-major with strides lda, ldb and ldc: each output its own chain of products and
// sums, whatever N and R, so a row that ends with weights of zero gets the sum of its own keys alone.
template <int N, int R>
AHA_TILE void product_rows(int rows, const float* a, int64_t lda, const float* b, int64_t ldb, int64_t depth,
                           int64_t cols, float* c, int64_t ldc) {
  const float* ar[R];
  for (int r = 0; r < R; ++r) ar[r] = a + std::min(r, rows - 1) * lda;  // rows past `rows` redo the last
  int64_t col = 0;
  for (; col + 2 * N <= cols; col += 2 * N) {
    Vec<N> acc[R][2];
    for (auto& row : acc) row[0] = row[1] = Vec<N>{};
    for (int64_t k = 0; k < depth; ++k) {
      const Vec<N> b0 = load<N>(b + k * ldb + col), b1 = load<N>(b + k * ldb + col + N);
      for (int r = 0; r < R; ++r) {
        acc[r][0] += ar[r][k] * b0;
        acc[r][1] += ar[r][k] * b1;
      }
    }
    for (int r = 0; r < rows && r < R; ++r) {
      store<N>(c + r * ldc + col, acc[r][0]);
      store<N>(c + r * ldc + col + N, acc[r][1]);
    }
  }
  for (; col + N <= cols; col += N) {
    Vec<N> acc[R];
    for (auto& v : acc) v = Vec<N>{};
    for (int64_t k = 0; k < depth; ++k) {
      const Vec<N> bk = load<N>(b + k * ldb + col);
      for (int r = 0; r < R; ++r) acc[r] += ar[r][k] * bk;
    }
    for (int r = 0; r < rows && r < R; ++r) store<N>(c + r * ldc + col, acc[r]);
  }
  for (; col < cols; ++col)
    for (int r = 0; r < rows && r < R; ++r) {
      float acc = 0.0f;
      for (int64_t k = 0; k < depth; ++k) acc += ar[r][k] * b[k * ldb + col];
      c[r * ldc + col] = acc;
    }
}

#undef AHA_TILE

}  // namespace aha::kernels::tiles
