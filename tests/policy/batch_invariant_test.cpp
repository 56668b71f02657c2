// Batch invariance on the CPU: a row's value is the same bit for bit whatever rows go with it.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <utility>
#include <vector>

#include "kernels/batch_invariant.hpp"
#include "kernels/invariant_gemm.hpp"
#include "policy/attention.hpp"

using namespace aha::policy;
using namespace aha::kernels;

namespace {

// rows [n, in] with `row` placed at `position` of a batch of `n` random rows.
at::Tensor batch_with(const at::Tensor& row, int64_t n, int64_t position) {
  at::Tensor batch = at::randn({n, row.size(0)});
  batch[position] = row;
  return batch;
}

}  // namespace

TEST_CASE("a linear layer gives a row the same bits in any batch, at any position, on any thread count") {
  at::manual_seed(3);
  const int threads = at::get_num_threads();
  // (in, out): the demo's shapes, an odd vocabulary, and a size where MKL splits the reduction.
  for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{128, 128}, {128, 479}, {1024, 1024}}) {
    INFO(in << " -> " << out);
    const at::Tensor weight = at::randn({out, in}) / 16.0, bias = at::randn({out});
    const at::Tensor row = at::randn({in});
    const at::Tensor alone = invariant_linear(row.unsqueeze(0), weight, bias)[0];
    for (const int64_t n : {2, 15, 16, 17, 27, 63, 64, 65, 200, 1030}) {
      for (const int64_t position : {int64_t{0}, n / 2, n - 1}) {
        INFO("batch " << n << ", position " << position);
        CHECK(at::equal(invariant_linear(batch_with(row, n, position), weight, bias)[position], alone));
      }
    }
    at::set_num_threads(1);
    CHECK(at::equal(invariant_linear(batch_with(row, 300, 123), weight, bias)[123], alone));
    at::set_num_threads(threads);
    CHECK((invariant_linear(row.unsqueeze(0), weight, bias)[0] - at::linear(row, weight, bias))
              .abs()
              .max()
              .item<double>() < 1e-4);
  }
}

TEST_CASE("the product read from the unpacked weight gives the packed product's bits, however the columns are split") {
  at::manual_seed(6);
  for (const int64_t in : {1, 17, 128, 899}) {
    for (const int64_t out : {1, 7, 8, 13, 130}) {
      const at::Tensor weight = at::randn({out, in}) / 16.0;
      for (const int64_t n : {1, 5, 16, 17, 40}) {
        INFO(n << " rows, " << in << " -> " << out);
        const at::Tensor x = at::randn({n, in});
        const at::Tensor packed = at::empty({n, out}), unpacked = at::full({n, out}, std::nanf(""));
        invariant_gemm(x.const_data_ptr<float>(), n, in, weight.const_data_ptr<float>(), out, packed.data_ptr<float>());
        // Three parts, cut at multiples of 8 columns as threads cut them; the last runs past the end.
        for (const auto& [first, count] : std::vector<std::pair<int64_t, int64_t>>{{0, 8}, {8, 64}, {72, 200}})
          invariant_gemm_columns(x.const_data_ptr<float>(), n, in, weight.const_data_ptr<float>(), out, first, count,
                                 unpacked.data_ptr<float>());
        CHECK(at::equal(unpacked, packed));
      }
    }
  }
}

TEST_CASE("a linear layer's gradients equal at::linear's") {
  at::manual_seed(4);
  const at::Tensor x = at::randn({37, 24}).requires_grad_(), weight = at::randn({40, 24}).requires_grad_();
  const at::Tensor bias = at::randn({40}).requires_grad_(), probe = at::randn({37, 40});
  (invariant_linear(x, weight, bias) * probe).sum().backward();
  const at::Tensor x_ref = x.detach().clone().requires_grad_(), weight_ref = weight.detach().clone().requires_grad_();
  const at::Tensor bias_ref = bias.detach().clone().requires_grad_();
  (at::linear(x_ref, weight_ref, bias_ref) * probe).sum().backward();
  CHECK(at::allclose(x.grad(), x_ref.grad(), 1e-5, 1e-5));
  CHECK(at::allclose(weight.grad(), weight_ref.grad(), 1e-5, 1e-5));
  CHECK(at::allclose(bias.grad(), bias_ref.grad(), 1e-5, 1e-5));
}

TEST_CASE("sigmoid gives an element the same bits in tensors of any size") {
  at::manual_seed(5);
  const at::Tensor values = at::randn({100003}) * 6;
  const at::Tensor sigmoid_all = invariant_sigmoid(values);
  for (const auto& [start, length] :
       std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {3, 5}, {17, 9}, {5, 33}, {7, 40001}})
    CHECK(at::equal(invariant_sigmoid(values.narrow(0, start, length).clone()), sigmoid_all.narrow(0, start, length)));
  CHECK(at::allclose(sigmoid_all, at::sigmoid(values), 1e-5, 1e-6));
}

TEST_CASE("attention gives a query the same bits decoding alone as inside a padded causal pass") {
  at::manual_seed(6);
  const int64_t heads = 4, kv_heads = 2, dim = 16, length = 300, batch = 3;
  const double scale = 0.25;
  const at::Tensor q = at::randn({batch, heads, length, dim}), k = at::randn({batch, kv_heads, length, dim});
  const at::Tensor v = at::randn({batch, kv_heads, length, dim});
  // One causal pass over every position of rows of 300, 90 and 40 real tokens, keys padded to 768.
  const std::vector<int64_t> lengths{300, 90, 40};
  const int64_t chunk = 256, span = 3 * chunk;
  AttentionInputs full;
  full.query_positions = at::arange(length, at::kLong).unsqueeze(0).expand({batch, length}).contiguous();
  full.key_lengths = at::tensor(lengths, at::kLong);
  full.key_span = span;
  const at::Tensor padded_k = at::cat({k, at::zeros({batch, kv_heads, span - length, dim})}, 2);
  const at::Tensor padded_v = at::cat({v, at::zeros({batch, kv_heads, span - length, dim})}, 2);
  const at::Tensor together = attend(q, padded_k, padded_v, full, scale);  // [batch, heads, length, dim]

  for (int64_t row = 0; row < batch; ++row) {
    for (const int64_t position : {int64_t{0}, int64_t{1}, chunk - 1, chunk, lengths[row] - 1}) {
      if (position >= lengths[row]) continue;
      INFO("row " << row << ", position " << position);
      // The decoding step: one query, the row's keys up to its position, padded to one or two chunks.
      AttentionInputs step;
      step.query_positions = at::full({1, 1}, position, at::kLong);
      step.key_lengths = at::full({1}, position + 1, at::kLong);
      step.key_span = (position + 1 + chunk - 1) / chunk * chunk;
      const auto keys = [&](const at::Tensor& t) {
        return at::cat({t[row].narrow(1, 0, position + 1), at::zeros({kv_heads, step.key_span - position - 1, dim})}, 1)
            .unsqueeze(0);
      };
      const at::Tensor alone = attend(q[row].narrow(1, position, 1).unsqueeze(0), keys(k), keys(v), step, scale);
      CHECK(at::equal(alone[0].select(1, 0), together[row].select(1, position)));
    }
  }
  // And it is the attention the formula gives.
  const at::Tensor expanded_k = k.repeat_interleave(heads / kv_heads, 1),
                   expanded_v = v.repeat_interleave(heads / kv_heads, 1);
  const at::Tensor causal = at::ones({length, length}, at::kBool).tril();
  const at::Tensor reference =
      at::softmax(at::matmul(q, expanded_k.transpose(-1, -2)).mul(scale).masked_fill(causal.logical_not(), -INFINITY),
                  -1)
          .matmul(expanded_v);
  CHECK(at::allclose(together[0], reference[0], 1e-5, 1e-5));
}
