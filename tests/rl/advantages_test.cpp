// Group-relative advantages against TRL's formulas (fixture from tests/rl/make_grpo_fixtures.py).
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "policy/safetensors.hpp"
#include "rl/advantages.hpp"
#include "tests/test_paths.hpp"

using namespace aha::rl;

namespace {

std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor d = t.to(at::kDouble).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

}  // namespace

TEST_CASE("advantages equal TRL's for scale_rewards group, batch and none") {
  const auto fixture = aha::policy::SafetensorsFile::open(source_dir() / "tests/fixtures/grpo/trl_grpo.safetensors");
  const auto rewards = to_vector(fixture.tensor("rewards"));
  const std::pair<AdvantageMode, const char*> modes[] = {
      {AdvantageMode::group, "group"}, {AdvantageMode::batch, "batch"}, {AdvantageMode::none, "none"}};
  for (const auto& [mode, name] : modes) {
    INFO(name);
    const auto expected = to_vector(fixture.tensor(std::string("advantages.") + name));
    const std::vector<double> a = compute_advantages(rewards, 4, mode, 1e-4);
    REQUIRE(a.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(a[i] == Approx(expected[i]).margin(1e-5));
    for (std::size_t i = 8; i < 12; ++i) CHECK(a[i] == 0.0);  // the third group's rewards all agree
  }
}

TEST_CASE("advantages by hand: a group of two") {
  const std::vector<double> rewards{1.0, 0.0};
  const std::vector<double> a = compute_advantages(rewards, 2, AdvantageMode::group, 0.0);
  // mean 0.5, unbiased std sqrt(0.5)
  CHECK(a[0] == Approx(0.5 / std::sqrt(0.5)));
  CHECK(a[1] == Approx(-0.5 / std::sqrt(0.5)));
}

TEST_CASE("rewards that do not split into groups are an error") {
  const std::vector<double> rewards{1.0, 0.0, 1.0};
  CHECK_THROWS_WITH(compute_advantages(rewards, 2, AdvantageMode::group, 1e-4),
                    Catch::Contains("3 rewards do not split into groups of 2"));
}
