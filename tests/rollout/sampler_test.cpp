// The sampling filters against transformers' logits processors (fixture from
// tests/rollout/make_sampler_fixture.py), and the draw itself.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "policy/safetensors.hpp"
#include "rollout/sampler.hpp"
#include "tests/test_paths.hpp"

using namespace aha::rollout;

TEST_CASE("top-k, top-p and min-p keep the tokens transformers keeps") {
  const auto f = aha::policy::SafetensorsFile::open(source_dir() / "tests/fixtures/sampling/filters.safetensors");
  const at::Tensor logits = f.tensor("logits");
  for (int i = 0; f.contains("case" + std::to_string(i) + ".params"); ++i) {
    const at::Tensor p = f.tensor("case" + std::to_string(i) + ".params");
    const SamplingParams params{p[0].item<double>(), static_cast<int>(p[1].item<double>()), p[2].item<double>(),
                                p[3].item<double>()};
    INFO("case " << i << ": temperature " << params.temperature << ", top_k " << params.top_k << ", top_p "
                 << params.top_p << ", min_p " << params.min_p);
    CHECK(at::equal(at::isfinite(filtered_logits(logits, params)), f.tensor("case" + std::to_string(i) + ".kept")));
  }
}

TEST_CASE("draws come only from kept tokens, follow the probabilities, and repeat with the seed") {
  const at::Tensor logits = at::log(at::tensor({0.5f, 0.3f, 0.15f, 0.05f})).unsqueeze(0).repeat({20000, 1});
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor all = sample(logits, {1.0, 0, 1.0, 0.0}, generator);
  const at::Tensor share = at::bincount(all, {}, 4).to(at::kDouble) / 20000.0;
  CHECK(share[0].item<double>() == Approx(0.5).margin(0.02));
  CHECK(share[3].item<double>() == Approx(0.05).margin(0.01));
  const at::Tensor top2 = sample(logits, {1.0, 2, 1.0, 0.0}, generator);
  CHECK((top2 < 2).all().item<bool>());
  const float inf = std::numeric_limits<float>::infinity();
  const at::Tensor one_token = at::tensor({0.0f, -inf, -inf, -inf, -inf, -inf, -inf, 0.0f}).view({2, 4});
  CHECK(at::equal(sample(one_token.repeat({500, 1}), {1.0, 0, 1.0, 0.0}, generator),
                  at::tensor({int64_t{0}, int64_t{3}}).repeat({500})));  // the row's only token, first or last
  CHECK_THROWS_WITH(sample(at::full({2, 4}, std::nanf("")), {1.0, 0, 1.0, 0.0}, generator),
                    Catch::Contains("probabilities of a row are not finite"));
  auto first = at::make_generator<at::CPUGeneratorImpl>(3), second = at::make_generator<at::CPUGeneratorImpl>(3);
  CHECK(at::equal(sample(logits, {0.9, 0, 0.8, 0.0}, first), sample(logits, {0.9, 0, 0.8, 0.0}, second)));
}
