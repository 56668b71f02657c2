// The fused CPU attention: forward, backward and the autograd function.
#include "kernels/invariant_attention.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/attention_rows.hpp"
#include "kernels/batch_invariant.hpp"

namespace aha::kernels {

namespace {

// Shapes, strides and pointers of one call; tensor rows (the last dimension) are contiguous.
struct Problem {
  int64_t batch, heads, kv_heads, queries, span, dim, value_dim;
  float scale;
  const float *q, *k, *v;
  const int64_t *positions, *lengths;
  int64_t k_stride[3], v_stride[3];  // batch, head, position

  int64_t group() const { return heads / kv_heads; }
  const float* q_row(int64_t b, int64_t h, int64_t i) const { return q + ((b * heads + h) * queries + i) * dim; }
  const float* key(int64_t b, int64_t g, int64_t j) const {
    return k + b * k_stride[0] + g * k_stride[1] + j * k_stride[2];
  }
  const float* value(int64_t b, int64_t g, int64_t j) const {
    return v + b * v_stride[0] + g * v_stride[1] + j * v_stride[2];
  }
  // The last key query i of row b sees.
  int64_t last_key(int64_t b, int64_t i) const {
    return std::max<int64_t>(0, std::min(positions[b * queries + i], std::min(lengths[b], span) - 1));
  }
};

Problem problem_of(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, const at::Tensor& positions,
                   const at::Tensor& lengths, double scale) {
  Problem p{q.size(0),
            q.size(1),
            keys.size(1),
            q.size(2),
            keys.size(2),
            q.size(3),
            values.size(3),
            static_cast<float>(scale),
            q.const_data_ptr<float>(),
            keys.const_data_ptr<float>(),
            values.const_data_ptr<float>(),
            positions.const_data_ptr<int64_t>(),
            lengths.const_data_ptr<int64_t>(),
            {keys.stride(0), keys.stride(1), keys.stride(2)},
            {values.stride(0), values.stride(1), values.stride(2)}};
  return p;
}

void check(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, const at::Tensor& positions,
           const at::Tensor& lengths) {
  TORCH_CHECK(q.is_cpu() && q.scalar_type() == at::kFloat && keys.scalar_type() == at::kFloat &&
                  values.scalar_type() == at::kFloat,
              "invariant_attention: float32 tensors on the CPU only");
  TORCH_CHECK(q.dim() == 4 && keys.dim() == 4 && values.dim() == 4 && keys.size(0) == q.size(0) &&
                  values.sizes().slice(0, 3) == keys.sizes().slice(0, 3) && keys.size(3) == q.size(3) &&
                  q.size(1) % keys.size(1) == 0,
              "invariant_attention: q ", q.sizes(), ", keys ", keys.sizes(), " and values ", values.sizes(),
              " do not fit [b, heads, s, d], [b, kv_heads, span, d], [b, kv_heads, span, dv]");
  TORCH_CHECK(keys.stride(3) == 1 && values.stride(3) == 1,
              "invariant_attention: key and value rows must be contiguous");
  TORCH_CHECK(positions.sizes() == at::IntArrayRef({q.size(0), q.size(2)}) &&
                  lengths.sizes() == at::IntArrayRef({q.size(0)}),
              "invariant_attention: query_positions must be [", q.size(0), ", ", q.size(2), "] and key_lengths [",
              q.size(0), "]");
}

// Row (b, h, i)'s unnormalised softmax weights into `weights` (span + 8 floats); returns their sum.
inline __attribute__((always_inline)) float row_weights(const Problem& p, int64_t b, int64_t h, int64_t i,
                                                        float* weights) {
  const int64_t g = h / p.group();
  return softmax_weights(
      p.q_row(b, h, i), [&](int64_t j) { return p.key(b, g, j); }, p.last_key(b, i) + 1, p.dim, p.scale, weights);
}

// One query row: its softmax weights and the weighted values into out [dv]; `scores` holds
// span + 8 floats. Compiled for AVX-512, AVX2 and plain x86-64 and picked when the library
// loads; this file is compiled without floating-point contraction, so every variant gives the
// same bits.
__attribute__((target_clones("avx512f", "avx2", "default"))) void attend_row(const Problem& p, int64_t row,
                                                                             float* scores, float* out) {
  const int64_t i = row % p.queries, h = (row / p.queries) % p.heads, b = row / (p.queries * p.heads);
  const int64_t g = h / p.group(), keys = p.last_key(b, i) + 1;
  const float total = row_weights(p, b, h, i, scores);
  weighted_values(
      scores, total, [&](int64_t j) { return p.value(b, g, j); }, keys, p.value_dim, out);
}

// The gradients of the query rows of batch row b whose heads read key head g, given the output
// `out` and its gradient `grad_out` [b, heads, s, dv]. Those heads' rows are consecutive, R of
// them, over at most `keys` keys: with P [R, keys] the rows' softmax weights (recomputed as the
// forward computes them), dS = P * (dO V^T - rowsum(dO * O)) * scale, and then dQ = dS K,
// dK = dS^T Q and dV = P^T dO, as serial products. `scratch` holds 2 R keys floats and
// `weights` span + 8.
__attribute__((target_clones("avx512f", "avx2", "default"))) void attend_backward(const Problem& p, int64_t b,
                                                                                  int64_t g, const float* out,
                                                                                  const float* grad_out, float* grad_q,
                                                                                  float* grad_k, float* grad_v,
                                                                                  float* scratch, float* weights) {
  const int64_t rows = p.group() * p.queries, first = (b * p.heads + g * p.group()) * p.queries;
  const int64_t keys = std::max<int64_t>(1, std::min(p.lengths[b], p.span));
  float *prob = scratch, *d_s = scratch + rows * keys;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = g * p.group() + r / p.queries, i = r % p.queries, seen = p.last_key(b, i) + 1;
    const float total = row_weights(p, b, h, i, weights);
    float* prob_row = prob + r * keys;
    for (int64_t j = 0; j < seen; ++j) prob_row[j] = weights[j] / total;
    std::fill(prob_row + seen, prob_row + keys, 0.0f);
  }
  const float *q = p.q_row(b, g * p.group(), 0), *k = p.key(b, g, 0), *v = p.value(b, g, 0);
  const float *o = out + first * p.value_dim, *d_o = grad_out + first * p.value_dim;
  serial_gemm(false, true, rows, keys, p.value_dim, d_o, p.value_dim, v, p.v_stride[2], d_s, keys);  // dO V^T
  for (int64_t r = 0; r < rows; ++r) {
    float delta = 0.0f;  // dO . O of the row
    for (int64_t t = 0; t < p.value_dim; ++t) delta += d_o[r * p.value_dim + t] * o[r * p.value_dim + t];
    for (int64_t j = 0; j < keys; ++j) d_s[r * keys + j] = prob[r * keys + j] * (d_s[r * keys + j] - delta) * p.scale;
  }
  const int64_t key_row = (b * p.kv_heads + g) * p.span;
  serial_gemm(false, false, rows, p.dim, keys, d_s, keys, k, p.k_stride[2], grad_q + first * p.dim, p.dim);
  serial_gemm(true, false, keys, p.dim, rows, d_s, keys, q, p.dim, grad_k + key_row * p.dim, p.dim);
  serial_gemm(true, false, keys, p.value_dim, rows, prob, keys, d_o, p.value_dim, grad_v + key_row * p.value_dim,
              p.value_dim);
}

// out [b, heads, s, dv]
void forward(const Problem& p, float* out) {
  at::parallel_for(0, p.batch * p.heads * p.queries, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(p.span + 8);
    for (int64_t row = begin; row < end; ++row) attend_row(p, row, scores.data(), out + row * p.value_dim);
  });
}

class InvariantAttentionFunction : public torch::autograd::Function<InvariantAttentionFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q_in, const at::Tensor& keys,
                            const at::Tensor& values, const at::Tensor& positions_in, const at::Tensor& lengths_in,
                            double scale) {
    const at::Tensor q = q_in.contiguous(), positions = positions_in.contiguous(), lengths = lengths_in.contiguous();
    check(q, keys, values, positions, lengths);
    const Problem p = problem_of(q, keys, values, positions, lengths, scale);
    at::Tensor out = at::empty({p.batch, p.heads, p.queries, p.value_dim}, q.options());
    kernels::forward(p, out.data_ptr<float>());
    ctx->save_for_backward({q, keys, values, positions, lengths, out});
    ctx->saved_data["scale"] = scale;
    return out;
  }

  // The fused backward, which recomputes each row's softmax weights.
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const at::Tensor &q = s[0], &keys = s[1], &values = s[2], &positions = s[3], &lengths = s[4], &out = s[5];
    const Problem p = problem_of(q, keys, values, positions, lengths, ctx->saved_data["scale"].toDouble());
    const at::Tensor grad_out = grads[0].contiguous();
    at::Tensor grad_q = at::empty_like(q), grad_k = at::zeros({p.batch, p.kv_heads, p.span, p.dim}, q.options());
    at::Tensor grad_v = at::zeros({p.batch, p.kv_heads, p.span, p.value_dim}, q.options());
    at::parallel_for(0, p.batch * p.kv_heads, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> weights(p.span + 8), scratch(2 * p.group() * p.queries * std::max<int64_t>(p.span, 1));
      for (int64_t task = begin; task < end; ++task)
        attend_backward(p, task / p.kv_heads, task % p.kv_heads, out.const_data_ptr<float>(),
                        grad_out.const_data_ptr<float>(), grad_q.data_ptr<float>(), grad_k.data_ptr<float>(),
                        grad_v.data_ptr<float>(), scratch.data(), weights.data());
    });
    return {grad_q, grad_k, grad_v, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// One decoding query: keys j < prefix_length from cache row `prefix` (its prompt's, shared with the
// other completions of that prompt, so they are read from one place while cached), the rest from
// the query's own row, in key order; `scores` holds 2 (keys + 8) floats.
__attribute__((target_clones("avx512f", "avx2", "default"))) void attend_cached_row(
    const float* q, int64_t heads, int64_t kv_heads, int64_t dim, int64_t value_dim, const float* keys,
    const float* values, int64_t slots, int64_t own, int64_t prefix, int64_t prefix_length, int64_t position,
    float scale, float* scores, float* out) {
  const int64_t group = heads / kv_heads, keys_seen = position + 1;
  for (int64_t g = 0; g < kv_heads; ++g) {
    const int64_t own_slot = (own * kv_heads + g) * slots, prefix_slot = (prefix * kv_heads + g) * slots;
    const auto slot = [&](int64_t j) { return j < prefix_length ? prefix_slot + j : own_slot + j; };
    attend_heads(
        group, [&](int64_t h) { return q + (g * group + h) * dim; },
        [&](int64_t h) { return out + (g * group + h) * value_dim; }, [&](int64_t j) { return keys + slot(j) * dim; },
        [&](int64_t j) { return values + slot(j) * value_dim; }, keys_seen, dim, value_dim, scale, scores);
  }
}

}  // namespace

void attend_cached(const float* q, int64_t rows, int64_t heads, int64_t kv_heads, int64_t dim, int64_t value_dim,
                   const float* keys, const float* values, int64_t slots, const int64_t* cache_rows,
                   const int64_t* positions, const int64_t* prefix_rows, const int64_t* prefix_lengths, double scale,
                   float* out) {
  std::vector<float> scores;
  for (int64_t r = 0; r < rows; ++r) {
    scores.resize(static_cast<std::size_t>(2 * (positions[r] + 1 + 8)));
    attend_cached_row(q + r * heads * dim, heads, kv_heads, dim, value_dim, keys, values, slots, cache_rows[r],
                      prefix_rows[r], prefix_lengths[r], positions[r], static_cast<float>(scale), scores.data(),
                      out + r * heads * value_dim);
  }
}

at::Tensor invariant_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                               const at::Tensor& query_positions, const at::Tensor& key_lengths, double scale) {
  return InvariantAttentionFunction::apply(q, keys, values, query_positions, key_lengths, scale);
}

}  // namespace aha::kernels
