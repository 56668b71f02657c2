// The chunked selective log-softmax against the plain full log_softmax, values and gradients.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>

#include "policy/token_logprobs.hpp"

using aha::policy::token_logprobs;
using aha::policy::token_logprobs_and_entropy;

namespace {

// The reference: materialise the whole [n, vocab] log-softmax.
at::Tensor full_logprobs(const at::Tensor& hidden, const at::Tensor& head, const at::Tensor& targets, double t) {
  return at::log_softmax(at::linear(hidden, head) / t, -1).gather(1, targets.unsqueeze(1)).squeeze(1);
}

}  // namespace

TEST_CASE("chunked token log-probs equal the full log-softmax, for any chunk size and temperature") {
  at::manual_seed(7);
  const at::Tensor targets = at::randint(0, 300, {37}, at::kLong);
  for (const double temperature : {1.0, 0.7, 1.3}) {
    for (const int64_t chunk : {1, 5, 16, 37, 1000}) {
      INFO("temperature " << temperature << ", chunk " << chunk);
      const at::Tensor hidden = at::randn({37, 24}).requires_grad_();
      const at::Tensor head = at::randn({300, 24}).requires_grad_();
      const at::Tensor hidden_ref = hidden.detach().clone().requires_grad_();
      const at::Tensor head_ref = head.detach().clone().requires_grad_();
      const at::Tensor weights = at::randn({37});

      const at::Tensor ours = token_logprobs(hidden, head, targets, temperature, chunk);
      const at::Tensor reference = full_logprobs(hidden_ref, head_ref, targets, temperature);
      CHECK(at::allclose(ours, reference, 1e-5, 1e-5));

      (ours * weights).sum().backward();
      (reference * weights).sum().backward();
      CHECK(at::allclose(hidden.grad(), hidden_ref.grad(), 1e-4, 1e-5));
      CHECK(at::allclose(head.grad(), head_ref.grad(), 1e-4, 1e-5));
    }
  }
}

TEST_CASE("token entropy equals the entropy of the full softmax, beside the same log-probs and gradients") {
  at::manual_seed(3);
  const at::Tensor hidden = at::randn({9, 16}).requires_grad_(), head = at::randn({50, 16});
  const at::Tensor targets = at::randint(0, 50, {9}, at::kLong);
  const at::Tensor logp = at::log_softmax(at::linear(hidden.detach(), head) / 0.8, -1);
  const auto [logprobs, entropy] = token_logprobs_and_entropy(hidden, head, targets, 0.8, 4);
  CHECK(at::allclose(entropy, -(logp.exp() * logp).sum(-1), 1e-5, 1e-5));
  CHECK(!entropy.requires_grad());
  CHECK(at::equal(logprobs, token_logprobs(hidden, head, targets, 0.8, 4)));
  logprobs.sum().backward();
  const at::Tensor with_entropy = hidden.grad().clone();
  hidden.mutable_grad() = at::Tensor();
  token_logprobs(hidden, head, targets, 0.8, 4).sum().backward();
  CHECK(at::equal(hidden.grad(), with_entropy));
}
