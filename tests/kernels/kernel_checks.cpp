// The shared kernel checks: forward values and gradients against the references.
#include "tests/kernels/kernel_checks.hpp"

#include <ATen/ATen.h>

#include <array>
#include <cmath>

#include <catch2/catch.hpp>

#include "kernels/grouped_linear.hpp"
#include "kernels/invariant_attention.hpp"
#include "kernels/moe_dispatch.hpp"
#include "kernels/reference.hpp"
#include "kernels/selective_log_softmax.hpp"

namespace aha::kernels::checks {

namespace {

double relative_error(const at::Tensor& got, const at::Tensor& want) {
  const at::Tensor g = got.to(at::kCPU, at::kDouble), w = want.to(at::kCPU, at::kDouble);
  return (g - w).abs().max().item<double>() / std::max(w.abs().max().item<double>(), 1e-30);
}

// A gradient, or zeros where autograd left it undefined (an expert that received no rows).
at::Tensor grad_of(const at::Tensor& leaf) { return leaf.grad().defined() ? leaf.grad() : at::zeros_like(leaf); }

// A leaf tensor on `device` in `dtype` that collects a gradient.
at::Tensor leaf(const at::Tensor& values, c10::Device device, c10::ScalarType dtype) {
  return values.to(device, dtype).detach().requires_grad_(true);
}

}  // namespace

double tolerance(c10::ScalarType dtype) { return dtype == at::kBFloat16 ? 1e-2 : 1e-5; }

void selective_log_softmax(c10::Device device, c10::ScalarType dtype) {
  at::manual_seed(11);
  // (rows, vocab): one token, an odd vocabulary, Qwen's 151,936.
  for (const auto& [rows, vocab] : std::vector<std::pair<int64_t, int64_t>>{{1, 7}, {33, 1000}, {6, 151936}}) {
    INFO(rows << " x " << vocab << " " << dtype << " on " << device);
    const double scale = 1.0 / 0.7;
    const at::Tensor values = at::randn({rows, vocab}) * 4.0;
    const at::Tensor targets = at::randint(vocab, {rows}, at::kLong).to(device);
    const at::Tensor logits = leaf(values, device, dtype);
    const at::Tensor reference_logits = leaf(values.to(dtype).to(at::kFloat), device, at::kFloat);
    const at::Tensor probe = at::randn({rows}).to(device);

    const auto fused = kernels::selective_log_softmax(logits, targets, scale, /*with_entropy=*/true);
    const at::Tensor want = reference::selected_logprobs(reference_logits, targets, scale);
    CHECK(relative_error(fused.logprobs, want) <= 1e-5);
    CHECK(relative_error(fused.entropy, reference::entropy(reference_logits, scale)) <= 1e-5);
    CHECK(relative_error(fused.logsumexp, at::logsumexp(reference_logits.detach() * scale, -1)) <= 1e-5);

    (kernels::selected_logprobs(logits, targets, scale) * probe).sum().backward();
    (want * probe).sum().backward();
    REQUIRE(logits.grad().scalar_type() == dtype);
    CHECK(relative_error(logits.grad(), reference_logits.grad()) <= tolerance(dtype));
  }
}

void grpo_token_loss(c10::Device device) {
  at::manual_seed(12);
  for (const auto& [batch, seq] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {4, 37}, {16, 513}}) {
    for (const double beta : {0.0, 0.04}) {
      INFO(batch << " x " << seq << ", beta " << beta << " on " << device);
      const kernels::GrpoTokenLossOptions options{0.2, 0.28, beta};
      const at::Tensor old_logp = (-at::rand({batch, seq}) * 3.0).to(device);
      // ratios from about 0.5 to 2: inside the clip range and beyond it on both sides
      const at::Tensor values = old_logp.cpu() + at::randn({batch, seq}) * 0.4;
      const at::Tensor ref_logp = (old_logp.cpu() + at::randn({batch, seq}) * 0.1).to(device);
      at::Tensor advantages = at::randn({batch}).to(device);
      if (batch > 1) advantages[0] = 0.0;
      const at::Tensor logp = leaf(values, device, at::kFloat), reference_logp = leaf(values, device, at::kFloat);
      const at::Tensor probe = at::randn({batch, seq}).to(device);

      const at::Tensor fused = kernels::grpo_token_loss(logp, old_logp, ref_logp, advantages, options);
      const at::Tensor want = reference::grpo_token_loss(reference_logp, old_logp, ref_logp, advantages, options);
      CHECK(relative_error(fused, want) <= 1e-5);
      (fused * probe).sum().backward();
      (want * probe).sum().backward();
      CHECK(relative_error(logp.grad(), reference_logp.grad()) <= 1e-5);
    }
  }
}

void moe_layer(c10::Device device, c10::ScalarType dtype) {
  at::manual_seed(13);
  // (tokens, k, experts, hidden, out); the last has more experts than routed pairs, so some get no rows.
  const std::vector<std::array<int64_t, 5>> shapes{
      {1, 1, 2, 8, 8}, {37, 2, 4, 32, 48}, {200, 4, 16, 64, 96}, {3, 2, 16, 16, 16}};
  for (const auto& [tokens, k, experts, hidden, out] : shapes) {
    INFO(tokens << " tokens, top-" << k << " of " << experts << ", " << hidden << " -> " << out << " " << dtype
                << " on " << device);
    const at::Tensor chosen = std::get<1>(at::rand({tokens, experts}).topk(k, -1)).to(device);  // [n, k] distinct
    const at::Tensor x_values = at::randn({tokens, hidden});
    const at::Tensor weight_values = at::softmax(at::randn({tokens, k}), -1);
    std::vector<at::Tensor> expert_weights, reference_weights;
    for (int64_t e = 0; e < experts; ++e) {
      const at::Tensor w = at::randn({out, hidden}) / 8.0;
      expert_weights.push_back(leaf(w, device, dtype));
      reference_weights.push_back(leaf(w.to(dtype).to(at::kFloat), device, at::kFloat));
    }
    const at::Tensor x = leaf(x_values, device, dtype), weights = leaf(weight_values, device, dtype);
    const at::Tensor reference_x = leaf(x_values.to(dtype).to(at::kFloat), device, at::kFloat);
    const at::Tensor reference_w = leaf(weight_values.to(dtype).to(at::kFloat), device, at::kFloat);
    const at::Tensor probe = at::randn({tokens, out}).to(device);

    const ExpertRouting routing = route_by_expert(chosen, experts);
    const at::Tensor rows = permute_tokens(x, routing);  // [n * k, hidden]
    const at::Tensor fused =
        combine_tokens(grouped_linear(rows, routing.rows_per_expert, expert_weights), weights, routing);
    const at::Tensor want = reference::moe_dense(
        reference_x, chosen, reference_w, experts,
        [&](int64_t e, const at::Tensor& input) { return at::matmul(input, reference_weights[e].t()); });
    REQUIRE(fused.sizes() == want.sizes());
    CHECK(relative_error(fused, want) <= tolerance(dtype));

    (fused.to(at::kFloat) * probe).sum().backward();
    (want * probe).sum().backward();
    CHECK(relative_error(x.grad(), reference_x.grad()) <= tolerance(dtype));
    CHECK(relative_error(weights.grad(), reference_w.grad()) <= tolerance(dtype));
    for (int64_t e = 0; e < experts; ++e) {
      INFO("expert " << e);
      CHECK(relative_error(grad_of(expert_weights[e]), grad_of(reference_weights[e])) <= tolerance(dtype));
    }
  }
}

void invariant_attention() {
  at::manual_seed(14);
  // (batch, heads, kv heads, queries, span, dim, value dim): decoding, a padded training pass with
  // grouped queries, multi-head attention with another value width (latent attention's shape),
  // widths that are no multiple of eight (the kernel's leftover lanes and columns).
  const std::vector<std::array<int64_t, 7>> shapes{
      {3, 4, 2, 1, 40, 16, 16}, {4, 4, 2, 37, 37, 32, 32}, {2, 3, 3, 20, 20, 24, 12}, {2, 2, 1, 5, 13, 20, 44}};
  for (const auto& [batch, heads, kv_heads, queries, span, dim, value_dim] : shapes) {
    INFO(batch << " x " << heads << "/" << kv_heads << " heads, " << queries << " queries, " << span << " keys");
    // Keys and values are views of a longer cache, as in a pass over the KV cache.
    const at::Tensor q_values = at::randn({batch, heads, queries, dim});
    const at::Tensor k_values = at::randn({batch, kv_heads, span + 3, dim});
    const at::Tensor v_values = at::randn({batch, kv_heads, span + 3, value_dim});
    // Row r holds span - 5 r real keys; queries sit at the last positions (left padding is position 0).
    at::Tensor lengths = at::empty({batch}, at::kLong), positions = at::empty({batch, queries}, at::kLong);
    for (int64_t r = 0; r < batch; ++r) {
      lengths[r] = std::max<int64_t>(1, span - 5 * r);
      for (int64_t i = 0; i < queries; ++i)
        positions[r][i] = std::max<int64_t>(0, lengths[r].item<int64_t>() - queries + i);
    }
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
    const at::Tensor q = leaf(q_values, at::kCPU, at::kFloat), k = leaf(k_values, at::kCPU, at::kFloat);
    const at::Tensor v = leaf(v_values, at::kCPU, at::kFloat);
    const at::Tensor rq = leaf(q_values, at::kCPU, at::kFloat), rk = leaf(k_values, at::kCPU, at::kFloat);
    const at::Tensor rv = leaf(v_values, at::kCPU, at::kFloat);
    const at::Tensor fused =
        kernels::invariant_attention(q, k.narrow(2, 0, span), v.narrow(2, 0, span), positions, lengths, scale);
    const at::Tensor want =
        reference::causal_attention(rq, rk.narrow(2, 0, span), rv.narrow(2, 0, span), positions, lengths, scale);
    CHECK(relative_error(fused, want) <= 1e-5);
    const at::Tensor probe = at::randn(want.sizes());
    (fused * probe).sum().backward();
    (want * probe).sum().backward();
    CHECK(relative_error(q.grad(), rq.grad()) <= 1e-5);
    CHECK(relative_error(k.grad(), rk.grad()) <= 1e-5);
    CHECK(relative_error(v.grad(), rv.grad()) <= 1e-5);
  }
}

}  // namespace aha::kernels::checks
