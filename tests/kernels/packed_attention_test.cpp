// Packed attention with shared prompts: each query's bits equal the padded fused attention's over
// its whole sequence, gradients equal masked softmax attention's (the same bits whether the
// backward keeps the forward's weights or not), and bad blocks are named.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>

#include <cmath>

#include "kernels/invariant_attention.hpp"
#include "kernels/packed_attention.hpp"

using namespace aha::kernels;

namespace {

// Two prompts (5 and 3 tokens) followed by three and two completions, one block on its own, and a
// 37-token prompt followed by two completions.
struct Layout {
  std::vector<std::array<int64_t, 4>> blocks;
  int64_t tokens = 0;
};

Layout shared_prompts() {
  Layout l;
  const auto add = [&](int64_t length, int64_t prefix_start, int64_t prefix_length) {
    l.blocks.push_back({l.tokens, length, prefix_start, prefix_length});
    l.tokens += length;
  };
  add(5, 0, 0);
  add(3, 0, 0);
  for (const int64_t length : {4, 1, 6}) add(length, 0, 5);
  for (const int64_t length : {2, 7}) add(length, 5, 3);
  add(4, 0, 0);
  const int64_t long_prompt = l.tokens;  // past a tile of 16 keys and 4 queries, with ragged ends
  add(37, 0, 0);
  for (const int64_t length : {23, 50}) add(length, long_prompt, 37);
  return l;
}

at::Tensor blocks_tensor(const Layout& l) {
  std::vector<int64_t> flat;
  for (const auto& b : l.blocks) flat.insert(flat.end(), b.begin(), b.end());
  return at::tensor(flat, at::kLong).view({static_cast<int64_t>(l.blocks.size()), 4});
}

// The tokens of block b's whole sequence: its prefix's, then its own.
std::vector<int64_t> sequence_of(const std::array<int64_t, 4>& b) {
  std::vector<int64_t> tokens;
  for (int64_t j = 0; j < b[3]; ++j) tokens.push_back(b[2] + j);
  for (int64_t j = 0; j < b[1]; ++j) tokens.push_back(b[0] + j);
  return tokens;
}

// Masked softmax attention over the packed rows: token t sees exactly the keys its block gives it.
at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const Layout& l, double scale) {
  const int64_t n = q.size(0), group = q.size(1) / k.size(1);
  at::Tensor allowed = at::zeros({n, n}, at::kBool);
  for (const auto& b : l.blocks) {
    const auto sequence = sequence_of(b);
    for (int64_t i = 0; i < b[1]; ++i)
      for (int64_t j = 0; j <= b[3] + i; ++j) allowed[b[0] + i][sequence[static_cast<std::size_t>(j)]] = true;
  }
  const at::Tensor qh = q.transpose(0, 1), kh = k.repeat_interleave(group, 1).transpose(0, 1);
  const at::Tensor vh = v.repeat_interleave(group, 1).transpose(0, 1);
  const at::Tensor scores = at::matmul(qh, kh.transpose(1, 2)).mul(scale).masked_fill(allowed.logical_not(), -INFINITY);
  return at::matmul(at::softmax(scores, -1), vh).transpose(0, 1);  // [n, heads, dv]
}

}  // namespace

TEST_CASE("packed attention gives each query the padded fused attention's bits, and masked attention's gradients") {
  at::manual_seed(21);
  const Layout layout = shared_prompts();
  const at::Tensor blocks = blocks_tensor(layout);
  // (heads, kv heads, dim, value dim): grouped queries, and widths that are no multiple of eight.
  for (const auto& [heads, kv_heads, dim, value_dim] :
       std::vector<std::array<int64_t, 4>>{{4, 2, 32, 32}, {3, 3, 20, 12}}) {
    INFO(heads << "/" << kv_heads << " heads, dim " << dim << ", value dim " << value_dim);
    const int64_t n = layout.tokens;
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
    const at::Tensor q = at::randn({n, heads, dim}).requires_grad_(),
                     k = at::randn({n, kv_heads, dim}).requires_grad_();
    const at::Tensor v = at::randn({n, kv_heads, value_dim}).requires_grad_();
    const at::Tensor out = packed_attention(q, k, v, blocks, scale);

    // Every block's sequence laid out alone, as a padded training pass or a cache row holds it.
    for (const auto& b : layout.blocks) {
      const auto sequence = sequence_of(b);
      const at::Tensor index = at::tensor(sequence, at::kLong);
      const auto length = static_cast<int64_t>(sequence.size());
      const at::Tensor padded = invariant_attention(q.detach().index_select(0, index).transpose(0, 1).unsqueeze(0),
                                                    k.detach().index_select(0, index).transpose(0, 1).unsqueeze(0),
                                                    v.detach().index_select(0, index).transpose(0, 1).unsqueeze(0),
                                                    at::arange(length, at::kLong).unsqueeze(0),
                                                    at::full({1}, length, at::kLong), scale);  // [1, heads, length, dv]
      CHECK(at::equal(out.detach().narrow(0, b[0], b[1]), padded[0].transpose(0, 1).narrow(0, b[3], b[1])));
    }

    const at::Tensor rq = q.detach().clone().requires_grad_(), rk = k.detach().clone().requires_grad_();
    const at::Tensor rv = v.detach().clone().requires_grad_();
    const at::Tensor want = reference(rq, rk, rv, layout, scale);
    CHECK(at::allclose(out, want, 1e-5, 1e-5));
    const at::Tensor probe = at::randn(want.sizes());
    (out * probe).sum().backward();
    (want * probe).sum().backward();
    CHECK(at::allclose(q.grad(), rq.grad(), 1e-4, 1e-5));
    CHECK(at::allclose(k.grad(), rk.grad(), 1e-4, 1e-5));
    CHECK(at::allclose(v.grad(), rv.grad(), 1e-4, 1e-5));

    // With no room to keep the forward's weights the backward computes them again: the same bits.
    const at::Tensor again_q = q.detach().clone().requires_grad_(), again_k = k.detach().clone().requires_grad_();
    const at::Tensor again_v = v.detach().clone().requires_grad_();
    (packed_attention(again_q, again_k, again_v, blocks, scale, /*kept_weights_bytes=*/0) * probe).sum().backward();
    CHECK(at::equal(again_q.grad(), q.grad()));
    CHECK(at::equal(again_k.grad(), k.grad()));
    CHECK(at::equal(again_v.grad(), v.grad()));
  }
}

TEST_CASE("packed attention names blocks that overlap, leave tokens out or point outside") {
  const at::Tensor q = at::zeros({6, 2, 8}), kv = at::zeros({6, 1, 8});
  const auto blocks = [](std::vector<int64_t> flat) {
    return at::tensor(flat, at::kLong).view({static_cast<int64_t>(flat.size()) / 4, 4});
  };
  CHECK_THROWS_WITH(packed_attention(q, kv, kv, blocks({0, 4, 0, 0, 3, 3, 0, 2}), 1.0),
                    Catch::Contains("token 3 is in two blocks"));
  CHECK_THROWS_WITH(packed_attention(q, kv, kv, blocks({0, 4, 0, 0}), 1.0),
                    Catch::Contains("do not cover all 6 tokens"));
  CHECK_THROWS_WITH(packed_attention(q, kv, kv, blocks({0, 4, 0, 0, 4, 2, 3, 5}), 1.0),
                    Catch::Contains("block 1 (4, 2, 3, 5) lies outside the 6 tokens"));
  CHECK_THROWS_WITH(packed_attention(q, at::zeros({6, 3, 8}), kv, blocks({0, 6, 0, 0}), 1.0),
                    Catch::Contains("do not fit"));
}
