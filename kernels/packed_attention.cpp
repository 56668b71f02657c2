// packed_attention: the forward per block in the tiles of attention_tiles.hpp at the widest vectors
// the CPU has, the backward per key head (blocks in order), and the autograd function.
#include "kernels/packed_attention.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <vector>

#include "kernels/attention_tiles.hpp"
#include "kernels/batch_invariant.hpp"

namespace aha::kernels {

namespace {

// Shapes and pointers of one call.
struct Packed {
  int64_t tokens, heads, kv_heads, dim, value_dim, blocks;
  float scale;
  const float *q, *k, *v;
  const int64_t* block;  // [blocks, 4]: start, length, prefix start, prefix length

  int64_t group() const { return heads / kv_heads; }
  const float* query(int64_t token, int64_t h) const { return q + (token * heads + h) * dim; }
  const float* key(int64_t token, int64_t g) const { return k + (token * kv_heads + g) * dim; }
  const float* value(int64_t token, int64_t g) const { return v + (token * kv_heads + g) * value_dim; }
};

// A block's rows: key j of its tokens is the prefix's j-th token, then the block's own.
struct Block {
  int64_t start, length, prefix_start, prefix_length;
  Block(const Packed& p, int64_t b)
      : start(p.block[4 * b]),
        length(p.block[4 * b + 1]),
        prefix_start(p.block[4 * b + 2]),
        prefix_length(p.block[4 * b + 3]) {}
  int64_t token_of_key(int64_t j) const { return j < prefix_length ? prefix_start + j : start + j - prefix_length; }
  int64_t width() const { return prefix_length + length; }  // the last token's keys
};

Packed packed_of(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, const at::Tensor& blocks,
                 double scale) {
  return {q.size(0),
          q.size(1),
          keys.size(1),
          q.size(2),
          values.size(2),
          blocks.size(0),
          static_cast<float>(scale),
          q.const_data_ptr<float>(),
          keys.const_data_ptr<float>(),
          values.const_data_ptr<float>(),
          blocks.const_data_ptr<int64_t>()};
}

// Where each block's softmax weights go when the forward keeps them for the backward: block b's
// weights for query head h and query i are the `width` floats from offsets[b] + (h * length + i) * width.
std::vector<int64_t> weight_offsets(const Packed& p) {
  std::vector<int64_t> offsets{0};
  for (int64_t b = 0; b < p.blocks; ++b) {
    const Block block(p, b);
    offsets.push_back(offsets.back() + p.heads * block.length * block.width());
  }
  return offsets;
}

void check(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, const at::Tensor& blocks) {
  TORCH_CHECK(q.is_cpu() && q.scalar_type() == at::kFloat && keys.scalar_type() == at::kFloat &&
                  values.scalar_type() == at::kFloat,
              "packed_attention: float32 tensors on the CPU only");
  TORCH_CHECK(q.dim() == 3 && keys.dim() == 3 && values.dim() == 3 && keys.size(0) == q.size(0) &&
                  values.size(0) == q.size(0) && values.size(1) == keys.size(1) && keys.size(2) == q.size(2) &&
                  q.size(1) % keys.size(1) == 0,
              "packed_attention: q ", q.sizes(), ", keys ", keys.sizes(), " and values ", values.sizes(),
              " do not fit [n, heads, d], [n, kv_heads, d], [n, kv_heads, dv]");
  TORCH_CHECK(blocks.dim() == 2 && blocks.size(1) == 4 && blocks.scalar_type() == at::kLong && blocks.is_cpu(),
              "packed_attention: blocks must be int64 [m, 4] on the CPU, got ", blocks.scalar_type(), " ",
              blocks.sizes());
  const int64_t n = q.size(0);
  std::vector<char> covered(static_cast<std::size_t>(n), 0);
  const int64_t* b = blocks.const_data_ptr<int64_t>();
  for (int64_t i = 0; i < blocks.size(0); ++i, b += 4) {
    TORCH_CHECK(b[0] >= 0 && b[1] > 0 && b[0] + b[1] <= n && b[2] >= 0 && b[3] >= 0 && b[2] + b[3] <= n,
                "packed_attention: block ", i, " (", b[0], ", ", b[1], ", ", b[2], ", ", b[3], ") lies outside the ", n,
                " tokens");
    for (int64_t t = b[0]; t < b[0] + b[1]; ++t) {
      TORCH_CHECK(!covered[static_cast<std::size_t>(t)], "packed_attention: token ", t, " is in two blocks");
      covered[static_cast<std::size_t>(t)] = 1;
    }
  }
  TORCH_CHECK(std::all_of(covered.begin(), covered.end(), [](char c) { return c != 0; }),
              "packed_attention: the blocks do not cover all ", n, " tokens");
}

constexpr int kTileRows = 4;  // queries per tile

#define AHA_INLINE inline __attribute__((always_inline))

// One block's keys (by dimension) and values for one key head, gathered, and a tile's weights.
struct Scratch {
  std::vector<float> keys_by_dim, values, weights;
};

// Key j of the block (prefix, then its own tokens) for one key head: keys by dimension [dim, ld], key j's
// element t at t * ld + j, with zeros in columns width .. ld - 1.
AHA_INLINE void gather_by_dim(const Block& block, const float* base, int64_t token_stride, int64_t dim, int64_t ld,
                              std::vector<float>& into) {
  into.assign(static_cast<std::size_t>(dim * ld), 0.0f);
  for (int64_t j = 0; j < block.width(); ++j) {
    const float* row = base + block.token_of_key(j) * token_stride;
    for (int64_t t = 0; t < dim; ++t) into[static_cast<std::size_t>(t * ld + j)] = row[t];
  }
}

// Value j of the block for one key head: rows [width, dim].
AHA_INLINE void gather_rows(const Block& block, const float* base, int64_t token_stride, int64_t dim,
                            std::vector<float>& into) {
  into.resize(static_cast<std::size_t>(block.width() * dim));
  for (int64_t j = 0; j < block.width(); ++j)
    std::copy_n(base + block.token_of_key(j) * token_stride, dim, into.data() + j * dim);
}

// Queries i0 .. i0 + rows - 1 of the block, query head h: their softmax weights into w (row r at
// w + r * ld, zeros up to the tile's last key rounded up to N) and their sums into totals, with the bits
// attend_heads gives them.
template <int N>
AHA_INLINE void tile_weights(const Packed& p, const Block& block, int64_t h, int64_t i0, int rows,
                             const float* keys_by_dim, int64_t ld, float* w, float* totals) {
  const int64_t width = tiles::round_up(block.prefix_length + i0 + rows, N);  // the tile's last query's keys
  for (int r0 = 0; r0 < rows; r0 += 2) {
    const int r1 = std::min(r0 + 1, rows - 1);
    const float* const q[2] = {p.query(block.start + i0 + r0, h), p.query(block.start + i0 + r1, h)};
    for (int64_t j0 = 0; j0 < width; j0 += N) {
      tiles::Vec<N> s[2];
      tiles::score_tile<N, 2>(q, keys_by_dim + j0, ld, p.dim, p.scale, s);
      tiles::store<N>(w + r0 * ld + j0, s[0]);
      tiles::store<N>(w + r1 * ld + j0, s[1]);
    }
  }
  for (int r = 0; r < rows; ++r) totals[r] = tiles::softmax_row(w + r * ld, block.prefix_length + i0 + r + 1, width);
}

// Every query of block b, every head, into out [n, heads, dv]; and, when `kept` is given, each
// query's normalised weights at the place weight_offsets gives.
template <int N>
AHA_INLINE void attend_block(const Packed& p, int64_t b, Scratch& s, float* out, float* kept, const int64_t* offsets) {
  const Block block(p, b);
  const int64_t ld = tiles::round_up(block.width(), N), out_ld = p.heads * p.value_dim;
  s.weights.resize(static_cast<std::size_t>(kTileRows * ld));
  for (int64_t g = 0; g < p.kv_heads; ++g) {
    gather_by_dim(block, p.key(0, g), p.kv_heads * p.dim, p.dim, ld, s.keys_by_dim);
    gather_rows(block, p.value(0, g), p.kv_heads * p.value_dim, p.value_dim, s.values);
    for (int64_t h = g * p.group(); h < (g + 1) * p.group(); ++h)
      for (int64_t i0 = 0; i0 < block.length; i0 += kTileRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kTileRows, block.length - i0));
        float totals[kTileRows];
        tile_weights<N>(p, block, h, i0, rows, s.keys_by_dim.data(), ld, s.weights.data(), totals);
        float* o = out + ((block.start + i0) * p.heads + h) * p.value_dim;
        tiles::product_rows<N, kTileRows>(rows, s.weights.data(), ld, s.values.data(), p.value_dim,
                                          block.prefix_length + i0 + rows, p.value_dim, o, out_ld);
        for (int r = 0; r < rows; ++r)
          for (int64_t c = 0; c < p.value_dim; ++c) o[r * out_ld + c] /= totals[r];
        if (kept)
          for (int r = 0; r < rows; ++r) {
            const int64_t keys = block.prefix_length + i0 + r + 1;
            float* row = kept + offsets[b] + (h * block.length + i0 + r) * block.width();
            for (int64_t j = 0; j < keys; ++j) row[j] = s.weights[static_cast<std::size_t>(r * ld + j)] / totals[r];
            std::fill(row + keys, row + block.width(), 0.0f);
          }
      }
  }
}

// The kernels at sixteen lanes where the CPU has AVX-512, eight elsewhere (the same bits either way).
__attribute__((target("avx512f"))) void attend_blocks_avx512(const Packed& p, int64_t begin, int64_t end, float* out,
                                                             float* kept, const int64_t* offsets) {
  Scratch s;
  for (int64_t b = begin; b < end; ++b) attend_block<16>(p, b, s, out, kept, offsets);
}
__attribute__((target("avx2"))) void attend_blocks_avx2(const Packed& p, int64_t begin, int64_t end, float* out,
                                                        float* kept, const int64_t* offsets) {
  Scratch s;
  for (int64_t b = begin; b < end; ++b) attend_block<8>(p, b, s, out, kept, offsets);
}
void attend_blocks_plain(const Packed& p, int64_t begin, int64_t end, float* out, float* kept, const int64_t* offsets) {
  Scratch s;
  for (int64_t b = begin; b < end; ++b) attend_block<8>(p, b, s, out, kept, offsets);
}

// The gradients that flow through key head g, block after block. For one head h of the group and
// block b (L queries over W = prefix + L keys): P [L, W] the softmax weights as the forward
// computes them, dS = P * (dO V^T - rowsum(dO * O)) * scale, then dQ = dS K, dK += dS^T Q and
// dV += P^T dO, each a serial product against the prefix's rows and one against the block's own.
// P is the forward's where it kept them (`kept`, at `offsets`). `scratch` grows to L W floats for dS
// (and L W more for P when it was not kept) and `weights` to W + 8.
__attribute__((target_clones("avx512f", "avx2", "default"))) void attend_block_backward(
    const Packed& p, int64_t g, const float* out, const float* grad_out, const float* kept, const int64_t* offsets,
    float* grad_q, float* grad_k, float* grad_v, std::vector<float>& scratch, std::vector<float>& weights) {
  const int64_t q_ld = p.heads * p.dim, o_ld = p.heads * p.value_dim;
  const int64_t k_ld = p.kv_heads * p.dim, v_ld = p.kv_heads * p.value_dim;
  for (int64_t b = 0; b < p.blocks; ++b) {
    const Block block(p, b);
    const int64_t rows = block.length, width = block.width(), prefix = block.prefix_length;
    scratch.resize(static_cast<std::size_t>((kept ? 1 : 2) * rows * width));
    weights.resize(static_cast<std::size_t>(width + 8));
    float* d_s = scratch.data();  // then P, when the forward did not keep it
    const float *k_prefix = p.key(block.prefix_start, g), *k_own = p.key(block.start, g);
    const float *v_prefix = p.value(block.prefix_start, g), *v_own = p.value(block.start, g);
    float *dk_prefix = grad_k + (block.prefix_start * p.kv_heads + g) * p.dim,
          *dk_own = grad_k + (block.start * p.kv_heads + g) * p.dim;
    float *dv_prefix = grad_v + (block.prefix_start * p.kv_heads + g) * p.value_dim,
          *dv_own = grad_v + (block.start * p.kv_heads + g) * p.value_dim;
    for (int64_t h = g * p.group(); h < (g + 1) * p.group(); ++h) {
      const float* prob = kept ? kept + offsets[b] + h * rows * width : scratch.data() + rows * width;
      for (int64_t i = 0; i < rows && !kept; ++i) {
        const int64_t keys = prefix + i + 1;
        const float total = softmax_weights(
            p.query(block.start + i, h), [&](int64_t j) { return p.key(block.token_of_key(j), g); }, keys, p.dim,
            p.scale, weights.data());
        float* prob_row = scratch.data() + (rows + i) * width;
        for (int64_t j = 0; j < keys; ++j) prob_row[j] = weights[j] / total;
        std::fill(prob_row + keys, prob_row + width, 0.0f);
      }
      const float* q = p.query(block.start, h);
      const float* o = out + (block.start * p.heads + h) * p.value_dim;
      const float* d_o = grad_out + (block.start * p.heads + h) * p.value_dim;
      float* d_q = grad_q + (block.start * p.heads + h) * p.dim;
      if (prefix > 0) serial_gemm(false, true, rows, prefix, p.value_dim, d_o, o_ld, v_prefix, v_ld, d_s, width);
      serial_gemm(false, true, rows, rows, p.value_dim, d_o, o_ld, v_own, v_ld, d_s + prefix, width);  // dO V^T
      for (int64_t i = 0; i < rows; ++i) {
        float delta = 0.0f;  // dO . O of the row
        for (int64_t t = 0; t < p.value_dim; ++t) delta += d_o[i * o_ld + t] * o[i * o_ld + t];
        for (int64_t j = 0; j < width; ++j)
          d_s[i * width + j] = prob[i * width + j] * (d_s[i * width + j] - delta) * p.scale;
      }
      if (prefix > 0) {
        serial_gemm(false, false, rows, p.dim, prefix, d_s, width, k_prefix, k_ld, d_q, q_ld);
        serial_gemm(true, false, prefix, p.dim, rows, d_s, width, q, q_ld, dk_prefix, k_ld, true);
        serial_gemm(true, false, prefix, p.value_dim, rows, prob, width, d_o, o_ld, dv_prefix, v_ld, true);
      }
      serial_gemm(false, false, rows, p.dim, rows, d_s + prefix, width, k_own, k_ld, d_q, q_ld, prefix > 0);
      serial_gemm(true, false, rows, p.dim, rows, d_s + prefix, width, q, q_ld, dk_own, k_ld, true);
      serial_gemm(true, false, rows, p.value_dim, rows, prob + prefix, width, d_o, o_ld, dv_own, v_ld, true);
    }
  }
}

enum class Isa { avx512, avx2, plain };

Isa isa() {
  static const Isa found = __builtin_cpu_supports("avx512f") ? Isa::avx512
                           : __builtin_cpu_supports("avx2")  ? Isa::avx2
                                                             : Isa::plain;
  return found;
}

class PackedAttentionFunction : public torch::autograd::Function<PackedAttentionFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q_in, const at::Tensor& keys_in,
                            const at::Tensor& values_in, const at::Tensor& blocks_in, double scale,
                            int64_t kept_weights_bytes) {
    const at::Tensor q = q_in.contiguous(), keys = keys_in.contiguous(), values = values_in.contiguous();
    const at::Tensor blocks = blocks_in.contiguous();
    check(q, keys, values, blocks);
    const Packed p = packed_of(q, keys, values, blocks, scale);
    at::Tensor out = at::empty({p.tokens, p.heads, p.value_dim}, q.options());
    float* o = out.data_ptr<float>();
    const std::vector<int64_t> offsets = weight_offsets(p);
    at::Tensor kept;  // the weights, for the backward
    if (offsets.back() * static_cast<int64_t>(sizeof(float)) <= kept_weights_bytes)
      kept = at::empty({offsets.back()}, q.options());
    float* w = kept.defined() ? kept.data_ptr<float>() : nullptr;
    at::parallel_for(0, p.blocks, 1, [&](int64_t begin, int64_t end) {
      switch (isa()) {
        case Isa::avx512: return attend_blocks_avx512(p, begin, end, o, w, offsets.data());
        case Isa::avx2: return attend_blocks_avx2(p, begin, end, o, w, offsets.data());
        case Isa::plain: return attend_blocks_plain(p, begin, end, o, w, offsets.data());
      }
    });
    ctx->save_for_backward({q, keys, values, blocks, out});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["kept"] = kept;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const at::Tensor &q = s[0], &keys = s[1], &values = s[2], &blocks = s[3], &out = s[4];
    const Packed p = packed_of(q, keys, values, blocks, ctx->saved_data["scale"].toDouble());
    const at::Tensor grad_out = grads[0].contiguous();
    at::Tensor grad_q = at::empty_like(q), grad_k = at::zeros_like(keys), grad_v = at::zeros_like(values);
    const at::Tensor kept = ctx->saved_data["kept"].toTensor();
    const std::vector<int64_t> offsets = weight_offsets(p);
    at::parallel_for(0, p.kv_heads, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> scratch, weights;
      for (int64_t g = begin; g < end; ++g)
        attend_block_backward(p, g, out.const_data_ptr<float>(), grad_out.const_data_ptr<float>(),
                              kept.defined() ? kept.const_data_ptr<float>() : nullptr, offsets.data(),
                              grad_q.data_ptr<float>(), grad_k.data_ptr<float>(), grad_v.data_ptr<float>(), scratch,
                              weights);
    });
    return {grad_q, grad_k, grad_v, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor packed_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                            const at::Tensor& blocks, double scale, int64_t kept_weights_bytes) {
  const bool backward_follows = at::GradMode::is_enabled() &&
                                (q.requires_grad() || keys.requires_grad() || values.requires_grad());
  return PackedAttentionFunction::apply(q, keys, values, blocks, scale, backward_follows ? kept_weights_bytes : -1);
}

}  // namespace aha::kernels
