// Activation checkpointing against the plain pass: the same hidden states, router logits and
// gradients bit for bit, through forward() and forward_packed(), dense and MoE.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <catch2/catch.hpp>

#include <functional>
#include <map>

#include "policy/checkpoint.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::policy;

namespace {

// A loss that reads every hidden state and every router logit, through fixed random weights.
at::Tensor loss_of(const ForwardOutput& out) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  at::Tensor loss = (out.hidden * at::randn(out.hidden.sizes(), generator)).sum();
  for (const auto& trace : out.routers) loss = loss + (trace.logits * at::randn(trace.logits.sizes(), generator)).sum();
  return loss;
}

// The loss's gradient on every parameter, and the pass's hidden states.
std::pair<std::map<std::string, at::Tensor>, at::Tensor> gradients(CausalLMImpl& model, bool checkpointed,
                                                                   const std::function<ForwardOutput()>& pass) {
  model.set_activation_checkpointing(checkpointed);
  for (auto& p : model.parameters()) p.mutable_grad() = at::Tensor();
  const ForwardOutput out = pass();
  loss_of(out).backward();
  std::map<std::string, at::Tensor> grads;
  for (const auto& item : model.named_parameters())
    if (item.value().grad().defined()) grads[item.key()] = item.value().grad().clone();
  return {grads, out.hidden.detach()};
}

void check_same(const std::function<ForwardOutput()>& pass, CausalLMImpl& model) {
  const auto [plain, plain_hidden] = gradients(model, false, pass);
  const auto [checkpointed, checkpointed_hidden] = gradients(model, true, pass);
  CHECK(at::equal(plain_hidden, checkpointed_hidden));
  REQUIRE(plain.size() == checkpointed.size());
  REQUIRE(!plain.empty());
  for (const auto& [name, grad] : plain) {
    INFO(name);
    REQUIRE(checkpointed.count(name));
    CHECK(at::equal(grad, checkpointed.at(name)));
  }
}

}  // namespace

TEST_CASE("checkpointed layers give the plain padded pass's outputs and gradients bit for bit") {
  const at::Tensor ids = at::tensor({5, 17, 99, 3, 8, 41, 9, 23, 7, 12, 2, 66, 1, 0}, at::kLong).view({2, 7});
  const at::Tensor mask = at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, at::kLong).view({2, 7});
  for (const char* name : {"qwen3_moe", "qwen2_moe", "qwen2", "llama", "deepseek_v3"}) {
    INFO(name);
    auto model = load_causal_lm(source_dir() / "tests/fixtures/models" / name);
    check_same([&] { return model->forward(ids, mask); }, *model);
  }
}

TEST_CASE("checkpointed layers give the plain packed pass's outputs and gradients bit for bit") {
  // A prompt of 5 tokens, then two completions that read it.
  const at::Tensor ids = at::tensor({5, 17, 99, 3, 8, 7, 12, 30, 2, 66}, at::kLong);
  const at::Tensor positions = at::tensor({0, 1, 2, 3, 4, 5, 6, 7, 5, 6}, at::kLong);
  const at::Tensor blocks = at::tensor({0, 5, 0, 0, 5, 3, 0, 5, 8, 2, 0, 5}, at::kLong).view({-1, 4});
  for (const char* name : {"qwen3_moe", "qwen2_moe", "qwen2"}) {
    INFO(name);
    auto model = load_causal_lm(source_dir() / "tests/fixtures/models" / name);
    REQUIRE(model->packs_sequences());
    check_same([&] { return model->forward_packed(ids, positions, blocks); }, *model);
  }
}

TEST_CASE("with checkpointing on, a pass with a KV cache still fills it, and a pass without gradients keeps no graph") {
  auto model = load_causal_lm(source_dir() / "tests/fixtures/models/qwen3_moe");
  model->set_activation_checkpointing(true);
  const at::Tensor ids = at::tensor({5, 17, 99}, at::kLong).view({1, 3});
  KvCache cache;
  const ForwardOutput cached = model->forward(ids, at::ones_like(ids), &cache);
  CHECK(cached.hidden.grad_fn() != nullptr);
  CHECK(cache.layers.front().keys.defined());
  torch::NoGradGuard no_grad;
  CHECK(model->forward(ids, at::ones_like(ids)).hidden.grad_fn() == nullptr);
}
