// The fused RMSNorm, rotary embedding and silu(gate) * up against their ATen formulas: values,
// gradients (against autograd through the formulas), the same bits for a row whatever surrounds
// it, and misshapen inputs named.
#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <catch2/catch.hpp>

#include "kernels/fused_elementwise.hpp"

using namespace aha::kernels;

namespace {

at::Tensor rms_norm_formula(const at::Tensor& x, const at::Tensor& w, double eps) {
  return w * (x * at::rsqrt(x.pow(2).mean(-1, true) + eps));
}

at::Tensor rotary_formula(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
}

// Gradients of sum(f(inputs) * probe) with respect to the inputs.
std::vector<at::Tensor> gradients(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& f,
                                  const std::vector<at::Tensor>& inputs, const at::Tensor& probe) {
  std::vector<at::Tensor> leaves;
  for (const auto& input : inputs) leaves.push_back(input.detach().clone().requires_grad_());
  (f(leaves) * probe).sum().backward();
  std::vector<at::Tensor> out;
  for (const auto& leaf : leaves) out.push_back(leaf.grad());
  return out;
}

}  // namespace

TEST_CASE("fused RMSNorm equals the formula, forward and gradients, for any row width") {
  at::manual_seed(11);
  for (const int64_t d : {128, 37, 8, 3}) {
    INFO("width " << d);
    const at::Tensor x = at::randn({5, 7, d}) * 3, w = at::randn({d});
    const at::Tensor probe = at::randn({5, 7, d});
    CHECK(at::allclose(rms_norm(x, w, 1e-6), rms_norm_formula(x, w, 1e-6), 1e-5, 1e-6));
    const auto fused = gradients([](const auto& in) { return rms_norm(in[0], in[1], 1e-6); }, {x, w}, probe);
    const auto formula = gradients([](const auto& in) { return rms_norm_formula(in[0], in[1], 1e-6); }, {x, w}, probe);
    CHECK(at::allclose(fused[0], formula[0], 1e-4, 1e-5));
    CHECK(at::allclose(fused[1], formula[1], 1e-4, 1e-4));
  }
}

TEST_CASE("fused rotary embedding gives the formula's bits, and its gradient") {
  at::manual_seed(12);
  const at::Tensor x = at::randn({3, 4, 9, 32}), cos = at::randn({3, 9, 32}), sin = at::randn({3, 9, 32});
  CHECK(at::equal(rotate_half_embedding(x, cos, sin), rotary_formula(x, cos, sin)));
  // A head-split view (positions and heads transposed) reads through its strides.
  const at::Tensor split = at::randn({3, 9, 4, 32}).transpose(1, 2);
  CHECK(at::equal(rotate_half_embedding(split, cos, sin), rotary_formula(split.contiguous(), cos, sin)));
  const at::Tensor probe = at::randn({3, 4, 9, 32});
  const auto fused = gradients([&](const auto& in) { return rotate_half_embedding(in[0], cos, sin); }, {x}, probe);
  const auto formula = gradients([&](const auto& in) { return rotary_formula(in[0], cos, sin); }, {x}, probe);
  CHECK(at::allclose(fused[0], formula[0], 1e-5, 1e-6));
}

TEST_CASE("fused silu(gate) * up equals the formula, and its gradients") {
  at::manual_seed(13);
  const at::Tensor gate = at::randn({37, 29}) * 6, up = at::randn({37, 29});
  CHECK(at::allclose(silu_mul(gate, up), at::silu(gate) * up, 1e-5, 1e-6));
  const at::Tensor probe = at::randn({37, 29});
  const auto fused = gradients([](const auto& in) { return silu_mul(in[0], in[1]); }, {gate, up}, probe);
  const auto formula = gradients([](const auto& in) { return at::silu(in[0]) * in[1]; }, {gate, up}, probe);
  CHECK(at::allclose(fused[0], formula[0], 1e-4, 1e-5));
  CHECK(at::allclose(fused[1], formula[1], 1e-5, 1e-6));
  // Far in the tails the sigmoid saturates without overflow.
  const at::Tensor extreme = at::tensor({-200.0f, -90.0f, 90.0f, 200.0f});
  CHECK(at::allclose(silu_mul(extreme, at::ones({4})), at::silu(extreme), 1e-6, 1e-30));
}

TEST_CASE("fused RMSNorm and silu(gate) * up give a row the same bits in batches of any size") {
  at::manual_seed(14);
  const at::Tensor x = at::randn({300, 128}), w = at::randn({128}), up = at::randn({300, 128});
  const at::Tensor norm_all = rms_norm(x, w, 1e-6), silu_all = silu_mul(x, up);
  for (const auto& [start, length] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {3, 5}, {17, 90}, {1, 299}}) {
    CHECK(at::equal(rms_norm(x.narrow(0, start, length).clone(), w, 1e-6), norm_all.narrow(0, start, length)));
    CHECK(at::equal(silu_mul(x.narrow(0, start, length).clone(), up.narrow(0, start, length).clone()),
                    silu_all.narrow(0, start, length)));
  }
  // An element alone (the lanes' padded tail) gets the bits it gets among others.
  CHECK(at::equal(silu_mul(x.narrow(0, 4, 1).narrow(1, 9, 1).clone(), up.narrow(0, 4, 1).narrow(1, 9, 1).clone()),
                  silu_all.narrow(0, 4, 1).narrow(1, 9, 1)));
}

TEST_CASE("the fused elementwise kernels name misshapen inputs") {
  const at::Tensor x = at::randn({2, 4, 5, 8});
  CHECK_THROWS_WITH(rotate_half_embedding(x, at::randn({2, 6, 8}), at::randn({2, 6, 8})),
                    Catch::Contains("do not fit [b, heads, s, d]"));
  CHECK_THROWS_WITH(silu_mul(at::randn({3, 4}), at::randn({4, 3})),
                    Catch::Contains("silu_mul: gate [3, 4] and up [4, 3] differ"));
  CHECK_THROWS_WITH(rms_norm(at::randn({3, 8}), at::randn({7}), 1e-6),
                    Catch::Contains("rms_norm: weight [7] does not fit x [3, 8]"));
}
