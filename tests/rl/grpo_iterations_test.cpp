// Several updates per step against TRL: grpo.iterations = 2 with grpo.mini_batches = 2 on the tiny
// qwen2 checkpoint makes the same four AdamW updates, in the same order and with the same losses,
// as TRL's GRPOTrainer with num_iterations = 2 and steps_per_generation = 2 (fixture from
// tests/rl/make_iteration_fixtures.py); and the rollout correction's weight and loss equal TRL's
// vllm_importance_sampling_mode on fixed tensors (tests/rl/make_grpo_fixtures.py).
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "policy/checkpoint.hpp"
#include "policy/safetensors.hpp"
#include "rl/grpo_loss.hpp"
#include "rl/policy_optimizer.hpp"
#include "rl/rollout_correction.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::rl;

namespace {

policy::SafetensorsFile fixture(const char* name) {
  return policy::SafetensorsFile::open(source_dir() / "tests/fixtures/grpo" / name);
}

std::vector<int64_t> ids(const at::Tensor& row, int64_t length) {
  const at::Tensor part = row.slice(0, 0, length).contiguous();
  return {part.data_ptr<int64_t>(), part.data_ptr<int64_t>() + length};
}

std::vector<TrainingSequence> fixture_batch(const policy::SafetensorsFile& f) {
  const at::Tensor prompts = f.tensor("prompt_ids"), completions = f.tensor("completion_ids");
  const at::Tensor initial = f.tensor("initial_logp");
  std::vector<TrainingSequence> batch;
  for (int64_t b = 0; b < prompts.size(0); ++b) {
    TrainingSequence s;
    s.prompt = ids(prompts[b], f.tensor("prompt_lengths")[b].item<int64_t>());
    s.completion = ids(completions[b], f.tensor("completion_lengths")[b].item<int64_t>());
    const at::Tensor sampled = initial[b].slice(0, 0, static_cast<int64_t>(s.completion.size())).contiguous();
    s.sampling_logprobs.assign(sampled.data_ptr<float>(), sampled.data_ptr<float>() + sampled.numel());
    s.advantage = f.tensor("advantages")[b].item<double>();
    batch.push_back(std::move(s));
  }
  return batch;
}

// Each sequence's completion log-probs alone, right-padded as the fixture holds them.
at::Tensor batch_logprobs(policy::CausalLMImpl& model, const std::vector<TrainingSequence>& batch, int64_t width) {
  torch::NoGradGuard no_grad;
  at::Tensor out = at::zeros({static_cast<int64_t>(batch.size()), width});
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const auto mb = pack_micro_batches({batch[b]}, 1 << 20, 0).front();
    const at::Tensor hidden = model.forward(mb.input_ids, mb.attention_mask).hidden;
    const at::Tensor picked = hidden.reshape({-1, hidden.size(-1)}).index_select(0, mb.hidden_index);
    const at::Tensor logp = at::log_softmax(model.logits(picked), -1).gather(1, mb.targets.unsqueeze(1)).squeeze(1);
    out[static_cast<int64_t>(b)].slice(0, 0, logp.size(0)).copy_(logp);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "two iterations over two mini-batches make TRL's four updates (num_iterations = 2, steps_per_generation = 2)") {
  const auto f = fixture("trl_iterations.safetensors");
  for (const auto& [aggregation, name] :
       {std::pair{LossAggregation::dapo, "dapo"}, std::pair{LossAggregation::grpo, "grpo"}}) {
    INFO(name);
    policy::CausalLM model = policy::load_causal_lm(source_dir() / "tests/fixtures/models/qwen2");
    const std::vector<TrainingSequence> batch = fixture_batch(f);
    REQUIRE(at::allclose(batch_logprobs(*model, batch, 6), f.tensor("initial_logp"), 1e-5, 1e-5));
    GrpoSection grpo;
    grpo.loss = aggregation;
    grpo.epsilon_low = 0.2;
    grpo.epsilon_high = 0.28;
    grpo.iterations = 2;
    grpo.mini_batches = 2;
    UpdateSettings update;
    update.optim.lr = 1e-2;
    update.optim.schedule = Schedule::constant;
    update.total_steps = 1;
    PolicyOptimizer optimizer(model, update, {grpo, std::nullopt, 6, 1.0});
    optimizer.set_micro_batch_threads(1);
    const StepStats stats = optimizer.step(batch);
    CHECK(stats.loss == Approx(f.tensor("update_loss." + std::string(name)).mean().item<double>()).margin(1e-5));
    CHECK(stats.grad_norm == Approx(f.tensor("grad_norm." + std::string(name)).mean().item<double>()).epsilon(1e-4));
    CHECK(stats.logprob_mismatch < 1e-5);  // the "sampler" here is transformers
    const at::Tensor final_logp = batch_logprobs(*model, batch, 6);
    CHECK(at::allclose(final_logp, f.tensor("final_logp." + std::string(name)), 1e-4, 1e-4));
    CHECK(!at::allclose(final_logp, f.tensor("initial_logp"), 1e-2, 1e-2));
  }
}

TEST_CASE("a step repeats bit for bit with several updates, and one update of the whole batch differs") {
  const auto f = fixture("trl_iterations.safetensors");
  const auto run = [&](int iterations, int mini_batches) {
    policy::CausalLM model = policy::load_causal_lm(source_dir() / "tests/fixtures/models/qwen2");
    GrpoSection grpo;
    grpo.iterations = iterations;
    grpo.mini_batches = mini_batches;
    UpdateSettings update;
    update.optim.lr = 1e-3;
    PolicyOptimizer optimizer(model, update, {grpo, std::nullopt, 6, 1.0});
    optimizer.step(fixture_batch(f));
    return batch_logprobs(*model, fixture_batch(f), 6);
  };
  const at::Tensor twice = run(2, 2);
  CHECK(at::equal(twice, run(2, 2)));
  CHECK(!at::equal(twice, run(1, 1)));
  CHECK_THROWS_WITH(run(1, 3), Catch::Contains("grpo.mini_batches = 3 does not divide the step's 8 completions"));
}

TEST_CASE("a stale batch's ratio is taken against the sampler's log-probs, so PPO's clip bounds it") {
  const auto f = fixture("trl_iterations.safetensors");
  const auto clipped_high = [&](bool stale, double sampler_shift) {
    policy::CausalLM model = policy::load_causal_lm(source_dir() / "tests/fixtures/models/qwen2");
    std::vector<TrainingSequence> batch = fixture_batch(f);
    for (auto& s : batch)
      for (float& logp : s.sampling_logprobs) logp -= static_cast<float>(sampler_shift);  // the sampler liked them less
    UpdateSettings update;
    update.optim.lr = 1e-3;
    PolicyOptimizer optimizer(model, update, {GrpoSection{}, std::nullopt, 6, 1.0});
    return optimizer.step(batch, stale).clip_high;
  };
  CHECK(clipped_high(false, 0.5) == 0.0);  // on-policy: the ratio is 1 at the step's one update
  CHECK(clipped_high(true, 0.0) == 0.0);   // the sampler's log-probs equal the trainer's here
  CHECK(clipped_high(true, 0.5) > 0.3);    // exp(0.5) > 1.2 for every token with a positive advantage
}

TEST_CASE("the rollout correction's weight, loss and gradient equal TRL's for every mode, level and bound") {
  const auto f = fixture("trl_grpo.safetensors");
  const at::Tensor mask = f.tensor("mask");
  const double tokens = mask.sum().item<double>();
  const UpdateCounts counts{mask.size(0), static_cast<int64_t>(tokens), 12, tokens};
  const std::pair<RolloutCorrection, const char*> modes[] = {
      {RolloutCorrection::token_truncate, "token_truncate"},
      {RolloutCorrection::token_mask, "token_mask"},
      {RolloutCorrection::sequence_truncate, "sequence_truncate"},
      {RolloutCorrection::sequence_mask, "sequence_mask"}};
  const std::pair<LossAggregation, const char*> aggregations[] = {{LossAggregation::grpo, "grpo"},
                                                                  {LossAggregation::bnpo, "bnpo"},
                                                                  {LossAggregation::dr_grpo, "dr_grpo"},
                                                                  {LossAggregation::dapo, "dapo"}};
  int cases = 0;
  for (const auto& [mode, mode_name] : modes)
    for (const auto level : {ImportanceSampling::token, ImportanceSampling::sequence})
      for (const auto& [aggregation, loss_name] : aggregations)
        for (const double beta : {0.0, 0.04})
          for (const auto& [floor, cap] : {std::pair{0.0, 3.0}, std::pair{0.5, 2.0}}) {
            const std::string key = fmt::format("correction_{}_{}_{}_beta{}_floor{}_cap{}", mode_name,
                                                level == ImportanceSampling::token ? "token" : "sequence", loss_name,
                                                beta == 0.0 ? "0.0" : "0.04", floor == 0.0 ? "0" : "0.5",
                                                cap == 3.0 ? "3.0" : "2.0");
            INFO(key);
            GrpoSection grpo;
            grpo.importance_sampling_level = level;
            grpo.loss = aggregation;
            grpo.beta = beta;
            grpo.epsilon_high = 0.28;
            grpo.rollout_correction = mode;
            grpo.rollout_correction_floor = floor;
            grpo.rollout_correction_cap = cap;
            const at::Tensor old_logp = f.tensor("old_logp");
            const RolloutCorrectionWeight w = rollout_correction(old_logp, f.tensor("sampling_logp"), mask, grpo);
            const auto sums = w.sums.accessor<double, 1>();
            CHECK(sums[kWeightSum] / sums[kWeightCount] ==
                  Approx(f.tensor("correction_mean." + key).item<double>()).epsilon(1e-5));
            CHECK(sums[kWeightMin] == Approx(f.tensor("correction_min." + key).item<double>()).epsilon(1e-5));
            CHECK(sums[kWeightMax] == Approx(f.tensor("correction_max." + key).item<double>()).epsilon(1e-5));
            CHECK(sums[kOutside] / sums[kWeightCount] ==
                  Approx(f.tensor("correction_outside." + key).item<double>()).margin(1e-7));
            const at::Tensor logp = f.tensor("logp").clone().requires_grad_();
            const LossInputs in{logp, old_logp, f.tensor("ref_logp"), f.tensor("advantages"), mask, w.weight};
            const LossOutput out = grpo_loss(in, grpo, counts);
            out.loss.backward();
            CHECK(out.loss.item<double>() == Approx(f.tensor("loss." + key).item<double>()).epsilon(1e-5));
            CHECK(at::allclose(logp.grad(), f.tensor("grad." + key), 1e-5, 1e-7));
            ++cases;
          }
  CHECK(cases == 128);
}
