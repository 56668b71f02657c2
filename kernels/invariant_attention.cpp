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

namespace aha::kernels {

namespace {

// Eight floats as one value (GCC and Clang vector extensions): each variant of attend_row maps
// it to its own registers, element by element, so the arithmetic is the same in all of them.
typedef float Lanes __attribute__((vector_size(32)));

inline Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// a . b over n floats: eight running lanes, then a fixed tree; the same operations whatever the call.
inline float dot(const float* a, const float* b, int64_t n) {
  Lanes acc = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t t = 0;
  for (; t + 8 <= n; t += 8) acc += load(a + t) * load(b + t);
  for (int l = 0; t < n; ++t, ++l) acc[l] += a[t] * b[t];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Shapes, strides and pointers of one call; tensor rows (the last dimension) are contiguous.
struct Problem {
  int64_t batch, heads, kv_heads, queries, span, dim, value_dim;
  float scale;
  const float *q, *k, *v;
  const int64_t *positions, *lengths;
  int64_t k_stride[3], v_stride[3];  // batch, head, position

  int64_t group() const { return heads / kv_heads; }
  const float* q_row(int64_t b, int64_t h, int64_t i) const { return q + ((b * heads + h) * queries + i) * dim; }
  const float* key(int64_t b, int64_t g, int64_t j) const { return k + b * k_stride[0] + g * k_stride[1] + j * k_stride[2]; }
  const float* value(int64_t b, int64_t g, int64_t j) const { return v + b * v_stride[0] + g * v_stride[1] + j * v_stride[2]; }
  // The last key query i of row b sees.
  int64_t last_key(int64_t b, int64_t i) const {
    return std::max<int64_t>(0, std::min(positions[b * queries + i], std::min(lengths[b], span) - 1));
  }
};

Problem problem_of(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, const at::Tensor& positions,
                   const at::Tensor& lengths, double scale) {
  Problem p{q.size(0), q.size(1), keys.size(1), q.size(2), keys.size(2), q.size(3), values.size(3),
            static_cast<float>(scale), q.const_data_ptr<float>(), keys.const_data_ptr<float>(),
            values.const_data_ptr<float>(), positions.const_data_ptr<int64_t>(), lengths.const_data_ptr<int64_t>(),
            {keys.stride(0), keys.stride(1), keys.stride(2)}, {values.stride(0), values.stride(1), values.stride(2)}};
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
  TORCH_CHECK(keys.stride(3) == 1 && values.stride(3) == 1, "invariant_attention: key and value rows must be contiguous");
  TORCH_CHECK(positions.sizes() == at::IntArrayRef({q.size(0), q.size(2)}) && lengths.sizes() == at::IntArrayRef({q.size(0)}),
              "invariant_attention: query_positions must be [", q.size(0), ", ", q.size(2), "] and key_lengths [",
              q.size(0), "]");
}

// One query row: its scores, their softmax and the weighted values into out [dv]; `scores` holds
// span floats. Compiled for AVX-512, AVX2 and plain x86-64 and picked when the library loads;
// this file is compiled without floating-point contraction, so every variant gives the same bits.
__attribute__((target_clones("avx512f", "avx2", "default"))) void attend_row(const Problem& p, int64_t row,
                                                                           float* scores, float* out) {
  const int64_t i = row % p.queries, h = (row / p.queries) % p.heads, b = row / (p.queries * p.heads);
  const int64_t g = h / p.group(), last = p.last_key(b, i);
  const float* q = p.q_row(b, h, i);
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j <= last; ++j) {
    scores[j] = dot(q, p.key(b, g, j), p.dim) * p.scale;
    max = std::max(max, scores[j]);
  }
  float sum = 0.0f;
  for (int64_t j = 0; j <= last; ++j) {
    scores[j] = std::exp(scores[j] - max);  // now the unnormalised weights
    sum += scores[j];
  }
  // out[t] = sum_j weight_j v_j[t], added in key order, eight columns at a time in one register.
  int64_t t0 = 0;
  for (; t0 + 8 <= p.value_dim; t0 += 8) {
    Lanes acc = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t j = 0; j <= last; ++j) acc += scores[j] * load(p.value(b, g, j) + t0);
    std::memcpy(out + t0, &acc, sizeof acc);
  }
  for (; t0 < p.value_dim; ++t0) {
    float acc = 0.0f;
    for (int64_t j = 0; j <= last; ++j) acc += scores[j] * p.value(b, g, j)[t0];
    out[t0] = acc;
  }
  for (int64_t t = 0; t < p.value_dim; ++t) out[t] /= sum;
}

// out [b, heads, s, dv]
void forward(const Problem& p, float* out) {
  at::parallel_for(0, p.batch * p.heads * p.queries, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(p.span);
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
    ctx->save_for_backward({q, keys, values, positions, lengths});
    ctx->saved_data["scale"] = scale;
    return out;
  }

  // The gradient of the same attention through ATen's scaled_dot_product_attention, recomputed:
  // only the forward has to be batch-invariant.
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const at::Tensor q = s[0].detach().requires_grad_(true), keys = s[1].detach().requires_grad_(true);
    const at::Tensor values = s[2].detach().requires_grad_(true);
    const at::Tensor &positions = s[3], &lengths = s[4];
    const int64_t b = q.size(0), span = keys.size(2);
    const at::Tensor key_position = at::arange(span, positions.options()).view({1, 1, span});
    const at::Tensor allowed = ((key_position <= positions.unsqueeze(-1)) & (key_position < lengths.view({b, 1, 1}))) |
                               (key_position == 0);  // [b, s, span]
    at::AutoGradMode enable_grad(true);
    const at::Tensor out = at::scaled_dot_product_attention(q, keys, values, allowed.unsqueeze(1), 0.0, false,
                                                            ctx->saved_data["scale"].toDouble(),
                                                            /*enable_gqa=*/q.size(1) != keys.size(1));
    const auto g = torch::autograd::grad({out}, {q, keys, values}, {grads[0]});
    return {g[0], g[1], g[2], at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor invariant_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                               const at::Tensor& query_positions, const at::Tensor& key_lengths, double scale) {
  return InvariantAttentionFunction::apply(q, keys, values, query_positions, key_lengths, scale);
}

}  // namespace aha::kernels
