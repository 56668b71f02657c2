// The GRPO optimizer step on the tiny qwen3_moe checkpoint: the gradient does not depend on the
// micro-batch budget or on how many threads run the micro-batches, advantages move log-probs the right way, frozen
// parameters stay put, and sampled log-probs match the training pass.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <catch2/catch.hpp>

#include <cmath>

#include "policy/checkpoint.hpp"
#include "rl/model_loading.hpp"
#include "rl/policy_optimizer.hpp"
#include "rollout/generator.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::rl;

namespace {

policy::CausalLM tiny_moe() { return policy::load_causal_lm(source_dir() / "tests/fixtures/models/qwen3_moe"); }

std::vector<TrainingSequence> sampled_batch(policy::CausalLMImpl& model, int seed) {
  const std::vector<std::vector<int64_t>> prompts{{5, 17, 99, 3}, {41, 9}, {76, 14, 58, 101, 6, 12}};
  rollout::GenerationSettings settings;
  settings.max_new_tokens = 6;
  settings.eos_ids = {1};
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto completions = rollout::generate(model, prompts, 4, settings, generator);
  std::vector<TrainingSequence> batch;
  for (std::size_t i = 0; i < completions.size(); ++i)
    batch.push_back(
        {prompts[i / 4], completions[i].tokens, completions[i].logprobs, (i % 4) < 2 ? 1.0 : -1.0, true, {}});
  return batch;
}

PolicyOptimizer make_optimizer(policy::CausalLM model, int64_t budget, double beta = 0.0,
                               std::vector<std::string> freeze = {}, bool router_aux_loss = false,
                               int64_t min_shared_prefix = 16) {
  GrpoSection grpo;
  grpo.beta = beta;
  grpo.router_aux_loss = router_aux_loss;
  OptimSection optim;
  optim.lr = 1e-2;
  optim.schedule = Schedule::constant;
  std::optional<policy::CausalLM> reference;
  if (beta != 0.0) reference = tiny_moe();
  return PolicyOptimizer(model,
                         {.optim = optim,
                          .total_steps = 10,
                          .micro_batch_tokens = budget,
                          .freeze = std::move(freeze),
                          .min_shared_prefix = min_shared_prefix,
                          .router_aux_loss = router_aux_loss},
                         {grpo, reference, 6, 1.0});
}

double sequence_logprob(policy::CausalLMImpl& model, const TrainingSequence& s) {
  torch::NoGradGuard no_grad;
  const auto mb = pack_micro_batches({s}, 1 << 20, 0).front();
  const at::Tensor hidden = model.forward(mb.input_ids, mb.attention_mask).hidden;
  const at::Tensor picked = hidden.reshape({-1, hidden.size(-1)}).index_select(0, mb.hidden_index);
  return at::log_softmax(model.logits(picked), -1).gather(1, mb.targets.unsqueeze(1)).sum().item<double>();
}

}  // namespace

TEST_CASE("micro-batch packing keeps every token once, within the budget") {
  auto model = tiny_moe();
  const auto batch = sampled_batch(*model, 3);
  int64_t expected = 0;
  for (const auto& s : batch) expected += static_cast<int64_t>(s.completion.size());
  for (const int64_t budget : {1, 24, 60, 100000}) {
    int64_t tokens = 0;
    for (const auto& mb : pack_micro_batches(batch, budget, 0)) {
      tokens += mb.targets.size(0);
      if (mb.input_ids.size(0) > 1) CHECK(mb.input_ids.numel() <= budget);
    }
    CHECK(tokens == expected);
  }
}

TEST_CASE("the gradient of a step does not depend on the micro-batch budget") {
  auto source = tiny_moe();
  const auto batch = sampled_batch(*source, 4);
  for (const bool router_loss : {false, true}) {
    INFO("router load-balancing loss " << router_loss);
    auto small = make_optimizer(tiny_moe(), 20, 0.04, {}, router_loss);
    auto large = make_optimizer(tiny_moe(), 1 << 20, 0.04, {}, router_loss);
    const StepStats a = small.step(batch), b = large.step(batch);
    CHECK(a.loss == Approx(b.loss).epsilon(1e-5));
    CHECK(a.grad_norm == Approx(b.grad_norm).epsilon(1e-5));
    CHECK(a.kl == Approx(b.kl).margin(1e-9));
    const auto& pa = small.optimizer().param_groups()[0].params();
    const auto& pb = large.optimizer().param_groups()[0].params();
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(at::allclose(pa[i].grad(), pb[i].grad(), 1e-4, 1e-7));
  }
}

TEST_CASE("packing for threads cuts where the prompt changes, into at most that many runs") {
  auto model = tiny_moe();
  const auto batch = sampled_batch(*model, 3);  // 3 prompts x 4 completions
  for (const int parts : {2, 3, 8}) {
    INFO("parts " << parts);
    const auto micro_batches = pack_micro_batches(batch, 1 << 20, 0, 16, parts);
    CHECK(micro_batches.size() == static_cast<std::size_t>(std::min(parts, 3)));
    int64_t rows = 0;
    for (const auto& mb : micro_batches) {
      CHECK(mb.input_ids.size(0) % 4 == 0);  // whole groups only
      rows += mb.input_ids.size(0);
    }
    CHECK(rows == 12);
  }
}

TEST_CASE("micro-batches on several threads give one thread's gradient, the same bits every run") {
  auto source = tiny_moe();
  const auto batch = sampled_batch(*source, 4);
  const std::vector<std::string> freeze{"model.embed_tokens.*"};
  auto model = tiny_moe();
  auto threaded = make_optimizer(model, 1 << 20, 0.04, freeze);
  auto again = make_optimizer(tiny_moe(), 1 << 20, 0.04, freeze);
  threaded.set_micro_batch_threads(3);
  again.set_micro_batch_threads(3);
  for (int step = 0; step < 2; ++step) {  // the second step's replicas must have the updated weights
    INFO("step " << step);
    auto copy = tiny_moe();
    {
      torch::NoGradGuard no_grad;
      const auto trained = model->named_parameters();
      for (auto& item : copy->named_parameters()) item.value().copy_(trained[item.key()]);
    }
    auto serial = make_optimizer(copy, 1 << 20, 0.04, freeze);
    const StepStats a = serial.step(batch), b = threaded.step(batch), c = again.step(batch);
    if (step == 0) CHECK(b.logprob_mismatch == 0.0);
    CHECK(a.loss == Approx(b.loss).epsilon(1e-5));
    CHECK(a.grad_norm == Approx(b.grad_norm).epsilon(1e-5));
    CHECK(b.loss == c.loss);
    CHECK(b.grad_norm == c.grad_norm);
    const auto& pa = serial.optimizer().param_groups()[0].params();
    const auto& pb = threaded.optimizer().param_groups()[0].params();
    const auto& pc = again.optimizer().param_groups()[0].params();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
      CHECK(at::allclose(pa[i].grad(), pb[i].grad(), 1e-4, 1e-7));
      CHECK(at::equal(pb[i].grad(), pc[i].grad()));
    }
  }
}

TEST_CASE("micro-batch threads leave each gradient in its parameter's layout, step after step, on every architecture") {
  for (const char* name : {"qwen3_moe", "qwen2_moe", "qwen2", "llama", "deepseek_v3"}) {
    INFO(name);
    auto model = policy::load_causal_lm(source_dir() / "tests/fixtures/models" / name);
    const auto batch = sampled_batch(*model, 5);
    auto optimizer = make_optimizer(model, 1 << 20);
    optimizer.set_micro_batch_threads(2);
    for (int step = 0; step < 2; ++step) {  // a step starts by clearing the last one's gradients
      CHECK(std::isfinite(optimizer.step(batch).grad_norm));
      for (const auto& p : model->parameters()) {
        if (!p.grad().defined()) continue;
        CHECK_FALSE(p.grad().is_view());
        CHECK(p.grad().strides() == p.strides());
      }
    }
  }
}

TEST_CASE("an error on a micro-batch thread reaches the caller, named") {
  auto model = tiny_moe();
  auto batch = sampled_batch(*model, 9);
  batch.back().completion.back() = model->config().vocab_size + 5;  // a token the model does not have
  auto threaded = make_optimizer(model, 1 << 20);
  threaded.set_micro_batch_threads(3);
  CHECK_THROWS_WITH(threaded.step(batch), Catch::Contains("index out of range"));
}

TEST_CASE("positive advantages raise a completion's log-prob, negative ones lower it") {
  auto model = tiny_moe();
  const auto batch = sampled_batch(*model, 5);
  const double up_before = sequence_logprob(*model, batch[0]), down_before = sequence_logprob(*model, batch[2]);
  auto optimizer = make_optimizer(model, 1 << 20);
  for (int i = 0; i < 3; ++i) optimizer.step(batch);
  CHECK(sequence_logprob(*model, batch[0]) > up_before);
  CHECK(sequence_logprob(*model, batch[2]) < down_before);
}

TEST_CASE("frozen parameters do not change") {
  auto model = tiny_moe();
  const at::Tensor embed_before = model->named_parameters()["model.embed_tokens.weight"].clone();
  const at::Tensor router_before = model->named_parameters()["model.layers.1.mlp.gate.weight"].clone();
  auto optimizer = make_optimizer(model, 1 << 20, 0.0, {"model.embed_tokens.*", "*.mlp.gate.*"});
  optimizer.step(sampled_batch(*model, 6));
  CHECK(at::equal(model->named_parameters()["model.embed_tokens.weight"], embed_before));
  CHECK(at::equal(model->named_parameters()["model.layers.1.mlp.gate.weight"], router_before));
  CHECK(matches_pattern("model.layers.3.mlp.gate.weight", "*.mlp.gate.*"));
  CHECK_FALSE(matches_pattern("model.layers.3.mlp.up_proj.weight", "*.mlp.gate.*"));
}

TEST_CASE("sampling and training log-probs are bit-identical for the same weights on the CPU") {
  auto model = tiny_moe();
  auto optimizer = make_optimizer(model, 1 << 20);
  const StepStats stats = optimizer.step(sampled_batch(*model, 7));
  CHECK(stats.logprob_mismatch == 0.0);
  CHECK(stats.tokens > 0);
  CHECK(stats.entropy > 0.0);
}

TEST_CASE("supervised steps lower the loss of the completions they train on") {
  auto model = tiny_moe();
  auto batch = sampled_batch(*model, 8);
  auto optimizer = make_optimizer(model, 1 << 20);
  const double first = optimizer.sft_step(batch).loss;
  double last = first;
  for (int i = 0; i < 4; ++i) last = optimizer.sft_step(batch).loss;
  CHECK(last < first);
  const int64_t all_tokens = optimizer.sft_step(batch).tokens;
  batch[0].in_loss = false;
  CHECK(optimizer.sft_step(batch).tokens == all_tokens - static_cast<int64_t>(batch[0].completion.size()));
}

TEST_CASE("computing shared prompt beginnings once gives the full rows' loss and gradient") {
  auto source = tiny_moe();
  auto grpo_batch = sampled_batch(*source, 6);  // groups of 4 rows with one prompt each
  std::vector<TrainingSequence> sft_batch;      // distinct prompts with a common 20-token beginning
  for (int64_t i = 0; i < 5; ++i) {
    TrainingSequence s;
    for (int64_t t = 0; t < 20; ++t) s.prompt.push_back((7 * t + 3) % 120 + 2);
    for (int64_t t = 0; t <= i; ++t) s.prompt.push_back(30 + 11 * i + t);
    s.completion = {40 + i, 50 + i, 60 - i};
    sft_batch.push_back(s);
  }
  for (const bool sft : {false, true})
    for (const bool router_loss : {false, true}) {
      INFO((sft ? "sft" : "grpo") << (router_loss ? " with the router loss" : ""));
      const auto& batch = sft ? sft_batch : grpo_batch;
      REQUIRE(pack_micro_batches(batch, 1 << 20, 0).front().shared.prefix_ids.defined());
      CHECK_FALSE(pack_micro_batches(batch, 1 << 20, 0, 0).front().shared.prefix_ids.defined());
      auto model_shared = tiny_moe(), model_full = tiny_moe();
      auto shared = make_optimizer(model_shared, 1 << 20, 0.04, {}, router_loss, 16);
      auto full = make_optimizer(model_full, 1 << 20, 0.04, {}, router_loss, 0);
      const StepStats a = sft ? shared.sft_step(batch) : shared.step(batch);
      const StepStats b = sft ? full.sft_step(batch) : full.step(batch);
      CHECK(a.loss == Approx(b.loss).epsilon(1e-5));
      CHECK(a.grad_norm == Approx(b.grad_norm).epsilon(1e-4));
      const auto shared_params = model_shared->named_parameters(), full_params = model_full->named_parameters();
      for (const auto& item : shared_params) {  // gradients (Adam's update would magnify rounding in tiny ones)
        INFO(item.key());
        const at::Tensor& g = item.value().grad();
        const at::Tensor& reference = full_params[item.key()].grad();
        if (!reference.defined()) continue;
        CHECK((g - reference).abs().max().item<double>() <= 1e-4 * reference.abs().max().item<double>() + 1e-7);
      }
    }
}

TEST_CASE("model.dtype = bfloat16 asks for CUDA and says so on the CPU") {
  aha::policy::ModelSection section;
  section.dtype = aha::policy::DType::bfloat16;
  CHECK_THROWS_WITH(aha::rl::load_model("any", section, at::kCPU),
                    Catch::Contains("bf16 autocast on CUDA; on the CPU use \"float32\""));
}
