// Resuming from a run checkpoint continues exactly as the uninterrupted run; a half-written
// checkpoint never becomes "latest"; old checkpoints are pruned.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <catch2/catch.hpp>

#include "policy/checkpoint.hpp"
#include "rl/policy_optimizer.hpp"
#include "rl/run_checkpoint.hpp"
#include "rollout/generator.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::rl;

namespace {

const auto fixture = source_dir() / "tests/fixtures/models/qwen3_moe";

struct Run {
  policy::CausalLM model = policy::load_causal_lm(fixture);
  PolicyOptimizer optimizer = make();
  at::Generator rng = at::make_generator<at::CPUGeneratorImpl>(99);

  PolicyOptimizer make() {
    OptimSection optim;
    optim.lr = 1e-2;
    UpdateSettings update;
    update.optim = optim;
    update.total_steps = 10;
    update.micro_batch_tokens = 1 << 20;
    return PolicyOptimizer(model, update, {GrpoSection{}, std::nullopt, 5, 1.0});
  }

  void step() {
    const std::vector<std::vector<int64_t>> prompts{{5, 17, 99}, {41, 9, 3, 3}};
    rollout::GenerationSettings settings;
    settings.max_new_tokens = 5;
    const auto completions = rollout::generate(*model, prompts, 3, settings, rng);
    std::vector<TrainingSequence> batch;
    for (std::size_t i = 0; i < completions.size(); ++i)
      batch.push_back(
          {prompts[i / 3], completions[i].tokens, completions[i].logprobs, i % 3 == 0 ? 1.0 : -0.5, true, {}});
    optimizer.step(batch);
  }
};

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-run-" + name + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("a resumed run ends with the same weights as the uninterrupted one") {
  const auto dir = fresh_dir("resume");
  Run straight;
  for (int i = 0; i < 2; ++i) straight.step();
  save_run_checkpoint(dir, *straight.model, straight.optimizer.optimizer(), straight.rng, {2, {}, ""}, fixture);
  for (int i = 0; i < 2; ++i) straight.step();

  Run resumed;
  const auto checkpoint = latest_checkpoint(dir);
  REQUIRE(checkpoint);
  const TrainerState state =
      load_run_checkpoint(*checkpoint, *resumed.model, resumed.optimizer.optimizer(), resumed.rng);
  CHECK(state.step == 2);
  resumed.optimizer.set_steps_taken(static_cast<int>(state.step));
  for (int i = 0; i < 2; ++i) resumed.step();

  auto a = straight.model->named_parameters(), b = resumed.model->named_parameters();
  for (const auto& item : a) {
    INFO(item.key());
    CHECK(at::equal(item.value(), b[item.key()]));
  }
  CHECK(std::filesystem::exists(*checkpoint / "tokenizer.json") == std::filesystem::exists(fixture / "tokenizer.json"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a checkpoint killed mid-write is ignored, and only the last ones are kept") {
  const auto dir = fresh_dir("kill");
  Run run;
  for (const int64_t step : {1, 2, 3})
    save_run_checkpoint(dir, *run.model, run.optimizer.optimizer(), run.rng, {step, {}, ""}, {}, 2);
  std::filesystem::create_directories(dir / "checkpoint-4.saving");  // the process died while writing step 4
  CHECK(latest_checkpoint(dir) == dir / "checkpoint-3");
  CHECK_FALSE(std::filesystem::exists(dir / "checkpoint-1"));
  CHECK(std::filesystem::exists(dir / "checkpoint-2"));
  CHECK_FALSE(latest_checkpoint(fresh_dir("empty")).has_value());
  std::filesystem::remove_all(dir);
}
