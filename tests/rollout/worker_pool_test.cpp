// The rollout worker pool: results equal direct generation with the job's seed whatever the
// number of workers, carry the weight version, follow published weights, and report failures.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <catch2/catch.hpp>

#include <map>

#include "policy/checkpoint.hpp"
#include "rollout/worker_pool.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::rollout;

namespace {

policy::CausalLM tiny_moe() { return policy::load_causal_lm(source_dir() / "tests/fixtures/models/qwen3_moe"); }

GenerationSettings settings() {
  GenerationSettings s;
  s.max_new_tokens = 6;
  return s;
}

RolloutJob job(int64_t id, uint64_t seed) { return RolloutJob{id, {{5, 17, 99, 3}, {41, 9}}, 2, seed}; }

}  // namespace

TEST_CASE("each job's completions equal generate() with its seed, with one worker or three") {
  auto model = tiny_moe();
  for (const int workers : {1, 3}) {
    RolloutPool pool(*model, 0, workers, 2, settings(), {});
    for (int64_t id = 0; id < 5; ++id) pool.submit(job(id, 100 + static_cast<uint64_t>(id)));
    std::map<int64_t, RolloutResult> results;
    for (int i = 0; i < 5; ++i) {
      RolloutResult r = pool.take();
      results[r.id] = std::move(r);
    }
    for (int64_t id = 0; id < 5; ++id) {
      at::Generator generator = seeded_generator(at::kCPU, 100 + static_cast<uint64_t>(id));
      const auto expected = generate(*model, job(id, 0).prompts, 2, settings(), generator);
      REQUIRE(results[id].completions.size() == expected.size());
      CHECK(results[id].weight_version == 0);
      for (std::size_t c = 0; c < expected.size(); ++c) CHECK(results[id].completions[c].tokens == expected[c].tokens);
    }
  }
}

TEST_CASE("published weights reach the workers with their version") {
  auto model = tiny_moe();
  RolloutPool pool(*model, 4, 2, 1, settings(), {});
  pool.submit(job(0, 9));
  const auto before = pool.take();
  CHECK(before.weight_version == 4);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(at::randn_like(p) * 0.5);
  }
  pool.publish(*model, 5);
  pool.submit(job(1, 9));
  const auto after = pool.take();
  CHECK(after.weight_version == 5);
  at::Generator generator = seeded_generator(at::kCPU, 9);
  const auto expected = generate(*model, job(1, 0).prompts, 2, settings(), generator);
  bool changed = false;
  for (std::size_t c = 0; c < expected.size(); ++c) {
    CHECK(after.completions[c].tokens == expected[c].tokens);
    changed = changed || after.completions[c].tokens != before.completions[c].tokens;
  }
  CHECK(changed);
}

TEST_CASE("a failing job is reported to the consumer, and the pool keeps working") {
  auto model = tiny_moe();
  RolloutPool pool(*model, 0, 1, 1, settings(), {});
  pool.submit(RolloutJob{0, {{}}, 2, 1});  // an empty prompt
  CHECK_THROWS_WITH(pool.take(), Catch::Contains("prompt 0 has no tokens"));
  pool.submit(job(1, 1));
  CHECK(pool.take().id == 1);
}
