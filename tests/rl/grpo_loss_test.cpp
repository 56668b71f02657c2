// The GRPO and GSPO losses against TRL's GRPOTrainer._compute_loss (fixture from
// tests/rl/make_grpo_fixtures.py) for every aggregation, with and without KL, symmetric and
// clip-higher; against the formula by hand; and invariant to micro-batching.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "policy/safetensors.hpp"
#include "rl/grpo_loss.hpp"
#include "tests/test_paths.hpp"

using namespace aha::rl;

namespace {

const std::pair<LossAggregation, const char*> aggregations[] = {{LossAggregation::grpo, "grpo"},
                                                                {LossAggregation::bnpo, "bnpo"},
                                                                {LossAggregation::dr_grpo, "dr_grpo"},
                                                                {LossAggregation::dapo, "dapo"}};

aha::policy::SafetensorsFile fixture() {
  return aha::policy::SafetensorsFile::open(source_dir() / "tests/fixtures/grpo/trl_grpo.safetensors");
}

UpdateCounts counts_of(const at::Tensor& mask) {
  const double tokens = mask.sum().item<double>();
  return {mask.size(0), static_cast<int64_t>(tokens), 12, tokens};
}

}  // namespace

TEST_CASE("loss, gradient and clip fractions equal TRL's for every loss type, token and sequence level") {
  const auto f = fixture();
  const at::Tensor mask = f.tensor("mask");
  for (const auto level : {ImportanceSampling::token, ImportanceSampling::sequence}) {
    for (const auto& [aggregation, name] : aggregations) {
      for (const double beta : {0.0, 0.04}) {
        for (const double eps_high : {0.2, 0.28}) {
          const std::string key = fmt::format("{}{}_beta{}_eps0.2-{}",
                                              level == ImportanceSampling::sequence ? "sequence_" : "", name,
                                              beta == 0.0 ? "0.0" : "0.04", eps_high);
          INFO(key);
          GrpoSection grpo;
          grpo.importance_sampling_level = level;
          grpo.loss = aggregation;
          grpo.beta = beta;
          grpo.epsilon_low = 0.2;
          grpo.epsilon_high = eps_high;
          const at::Tensor logp = f.tensor("logp").clone().requires_grad_();
          const LossInputs in{logp, f.tensor("old_logp"), f.tensor("ref_logp"), f.tensor("advantages"), mask, {}};
          const LossOutput out = grpo_loss(in, grpo, counts_of(mask));
          out.loss.backward();
          CHECK(out.loss.item<double>() == Approx(f.tensor("loss." + key).item<double>()).epsilon(1e-6));
          CHECK(at::allclose(logp.grad(), f.tensor("grad." + key), 1e-5, 1e-7));
          const double tokens = mask.sum().item<double>();
          CHECK(out.clipped_low.item<double>() / tokens ==
                Approx(f.tensor("clip_low." + key).item<double>()).margin(1e-7));
          CHECK(out.clipped_high.item<double>() / tokens ==
                Approx(f.tensor("clip_high." + key).item<double>()).margin(1e-7));
          if (beta != 0.0)
            CHECK(out.kl_sum.item<double>() / tokens == Approx(f.tensor("kl." + key).item<double>()).epsilon(1e-6));
        }
      }
    }
  }
}

TEST_CASE("loss by hand: one sequence, two tokens, one clipped") {
  GrpoSection grpo;
  grpo.loss = LossAggregation::grpo;
  grpo.epsilon_low = grpo.epsilon_high = 0.2;
  // ratios e^0.1 (inside the clip) and e^0.5 (clipped at 1.2 for a positive advantage)
  const at::Tensor logp = at::tensor({0.1f, 0.5f}).view({1, 2}), old = at::zeros({1, 2});
  const LossInputs in{logp, old, {}, at::tensor({2.0f}), at::ones({1, 2}), {}};
  const double expected = -(std::exp(0.1) * 2.0 + 1.2 * 2.0) / 2.0;
  CHECK(grpo_loss(in, grpo, {1, 2, 2}).loss.item<double>() == Approx(expected).epsilon(1e-6));
}

TEST_CASE("micro-batch sizes do not change the loss or the gradient, at either level") {
  const auto f = fixture();
  const at::Tensor mask = f.tensor("mask");
  for (const auto level : {ImportanceSampling::token, ImportanceSampling::sequence}) {
    for (const auto& [aggregation, name] : aggregations) {
      INFO(name);
      GrpoSection grpo;
      grpo.importance_sampling_level = level;
      grpo.loss = aggregation;
      grpo.beta = 0.04;
      grpo.epsilon_high = 0.28;
      const UpdateCounts step = counts_of(mask);
      const at::Tensor whole = f.tensor("logp").clone().requires_grad_();
      const at::Tensor whole_loss =
          grpo_loss({whole, f.tensor("old_logp"), f.tensor("ref_logp"), f.tensor("advantages"), mask, {}}, grpo, step)
              .loss;
      whole_loss.backward();
      for (const int64_t micro : {1, 2, 4}) {
        INFO("micro-batch of " << micro);
        const at::Tensor split = f.tensor("logp").clone().requires_grad_();
        double total = 0.0;
        for (int64_t begin = 0; begin < mask.size(0); begin += micro) {
          const int64_t rows = std::min(micro, mask.size(0) - begin);
          const auto part = [&](const at::Tensor& t) { return t.narrow(0, begin, rows); };
          const LossOutput out = grpo_loss({part(split),
                                            part(f.tensor("old_logp")),
                                            part(f.tensor("ref_logp")),
                                            part(f.tensor("advantages")),
                                            part(mask),
                                            {}},
                                           grpo, step);
          out.loss.backward();
          total += out.loss.item<double>();
        }
        // float32 sums in another order: the sequence level's extra reduction moves the last bits
        CHECK(total == Approx(whole_loss.item<double>()).epsilon(level == ImportanceSampling::token ? 1e-6 : 1e-5));
        CHECK(at::allclose(split.grad(), whole.grad(), 1e-6, 1e-8));
      }
    }
  }
}
