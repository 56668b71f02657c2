// The GRPO loop end to end on the tiny runs (tests/rl/trainer_runs.hpp): every required metric each
// step, the same seed gives the same metrics.jsonl, a resumed run continues exactly as the
// uninterrupted one, an output folder that holds a run is never overwritten, a checkpoint padded
// past its tokenizer never samples the padding, and a run too large for the machine is refused.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "policy/tokenizer.hpp"
#include "records/metrics_log.hpp"
#include "rl/experiment_config.hpp"
#include "rl/grpo_trainer.hpp"
#include "rl/pretrain_config.hpp"
#include "rl/scored_completion.hpp"
#include "rollout/generator.hpp"
#include "rollout/worker_pool.hpp"
#include "tests/rl/tiny_models.hpp"
#include "tests/rl/trainer_runs.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::rl;

using namespace trainer_runs;

TEST_CASE("every step logs the metrics a run is read by") {
  std::filesystem::remove_all(work / "metrics");
  train(experiment("metrics"), {});
  const auto lines = metrics_of("metrics");
  REQUIRE(lines.size() == 4);
  for (const char* key : {"step",
                          "reward_mean",
                          "reward_std",
                          "reward/math",
                          "reward/regex",
                          "accuracy",
                          "frac_zero_std",
                          "completion_length_mean",
                          "completion_length_min",
                          "completion_length_max",
                          "clipped_ratio",
                          "reflection_frequency",
                          "reflection_count",
                          "kl",
                          "entropy",
                          "clip_fraction_low",
                          "clip_fraction_high",
                          "grad_norm",
                          "learning_rate",
                          "logprob_mismatch",
                          "routing_mismatch",
                          "staleness",
                          "rollout_tokens_per_s",
                          "train_tokens_per_s",
                          "time_rollout_s",
                          "time_reward_s",
                          "time_train_s",
                          "time_step_s",
                          "time_sampling_wait_s",
                          "peak_rss_gb",
                          "reward_failures/math",
                          "reward_failures/regex",
                          "prompts_skipped"})
    for (const auto& line : lines) CHECK(line.contains(key));
  CHECK(lines.back().contains("eval/pass@1"));
  for (const char* file : {"eval_base.json", "eval_final.json", "final/config.json", "final/model.safetensors",
                           "final/tokenizer.json", "checkpoint-4/trainer_state.json", "config.toml"})
    CHECK(std::filesystem::exists(work / "metrics" / file));
  CHECK(lines[0]["routing_mismatch"].get<double>() == 0.0);
  for (const auto& line : lines) CHECK(line["logprob_mismatch"].get<double>() == 0.0);
}

TEST_CASE("the same seed gives the same metrics, and a resumed run continues as if never stopped") {
  for (const char* run : {"first", "second", "stopped"}) std::filesystem::remove_all(work / run);
  train(experiment("first"), {});
  train(experiment("second"), {});
  train(experiment("stopped", {"train.steps=2"}), {});
  train(experiment("stopped"), TrainOptions{true});
  const auto first = metrics_of("first"), second = metrics_of("second"), resumed = metrics_of("stopped");
  REQUIRE(first.size() == 4);
  REQUIRE(resumed.size() == 4);
  for (std::size_t i = 0; i < first.size(); ++i) {
    CHECK(training_numbers(first[i]) == training_numbers(second[i]));
    CHECK(training_numbers(first[i]) == training_numbers(resumed[i]));
  }
  const auto a = policy::CheckpointTensors::open(work / "first/final"),
             b = policy::CheckpointTensors::open(work / "stopped/final");
  for (const auto& name : a.names()) CHECK(at::equal(a.tensor(name), b.tensor(name)));
}

TEST_CASE("a folder that holds a run is never overwritten, and --resume needs a checkpoint") {
  std::filesystem::remove_all(work / "guarded");
  train(experiment("guarded", {"train.steps=2"}), {});
  CHECK_THROWS_WITH(train(experiment("guarded"), {}),
                    Catch::Contains("already holds a run") && Catch::Contains("--resume"));
  std::filesystem::remove_all(work / "empty");
  CHECK_THROWS_WITH(train(experiment("empty"), TrainOptions{true}),
                    Catch::Contains("holds no checkpoint to resume from"));
}

TEST_CASE("resuming with settings that change the run is refused unless overridden, and each change is named") {
  std::filesystem::remove_all(work / "changed");
  train(experiment("changed", {"train.steps=2"}), {});
  CHECK_THROWS_WITH(train(experiment("changed", {"optim.lr=0.5", "rollout.group_size=4"}), TrainOptions{true}),
                    Catch::Contains("--resume: the settings differ") && Catch::Contains("optim.lr: ") &&
                        Catch::Contains("rollout.group_size: 3 -> 4") && Catch::Contains("--override"));
  train(experiment("changed", {"optim.lr=0.5", "train.steps=3"}), TrainOptions{true, true});
  CHECK(metrics_of("changed").size() == 3);
}

TEST_CASE("data that lacks what a rule needs, or prompts all past max_prompt_tokens, are refused") {
  std::filesystem::remove_all(work / "no-key");
  CHECK_THROWS_WITH(train(experiment("no-key", {"data.answer_key=solution"}), {}),
                    Catch::Contains("train.jsonl:1: the record has no \"solution\" field") &&
                        Catch::Contains("data.answer_key"));
  std::filesystem::remove_all(work / "too-long");
  CHECK_THROWS_WITH(train(experiment("too-long", {"data.max_prompt_tokens=1"}), {}),
                    Catch::Contains("longer than data.max_prompt_tokens = 1"));
}

TEST_CASE("prompts past max_prompt_tokens are skipped, counted and replaced, never cut") {
  make_fixture();
  {
    std::ofstream out(work / "mixed.jsonl", std::ios::trunc);
    for (int i = 0; i < 12; ++i) {
      std::string question = "1 + " + std::to_string(i);  // half of them hundreds of tokens long
      for (int term = 0; i % 2 == 0 && term < 300; ++term) question += " + " + std::to_string(term);
      out << nlohmann::json{{"question", question}, {"answer", "0"}}.dump() << "\n";
    }
  }
  std::filesystem::remove_all(work / "skipping");
  train(experiment("skipping", {"data.train=\"" + (work / "mixed.jsonl").string() + "\"", "data.eval=\"\"",
                                "data.max_prompt_tokens=400", "train.steps=3"}),
        {});
  double skipped = 0.0;
  for (const auto& line : metrics_of("skipping")) {
    skipped += line["prompts_skipped"].get<double>();
    CHECK(line["groups_trained"].get<double>() == 2.0);  // each skipped prompt was replaced
  }
  CHECK(skipped > 0.0);
}

TEST_CASE("a rule that fails on every completion of a step is named with its first error") {
  std::vector<ScoredCompletion> batch(3);
  for (auto& s : batch) s.score.rules = {{"math", 0.0, "the record has no answer"}, {"format", 1.0, std::nullopt}};
  batch[1].score.rules[1].error = "boom";
  std::vector<rewards::RewardSpec> specs(2);
  specs[0].name = "math";
  specs[1].name = "format";
  const auto lines = rules_failing_everywhere(batch, specs);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::Contains("rule \"math\" failed on all 3 completions") &&
                           Catch::Contains("the record has no answer"));
  records::StepMetrics m;
  add_rollout_metrics(m, batch, specs);
  std::map<std::string, double> logged(m.items().begin(), m.items().end());
  CHECK(logged.at("reward_failures/math") == 3.0);
  CHECK(logged.at("reward_failures/format") == 1.0);
}

TEST_CASE("dynamic sampling draws more prompts while groups carry no signal, up to its bound") {
  std::filesystem::remove_all(work / "dynamic");
  // The regex rule rewards any digit; with a one-token budget most groups agree, some do not.
  train(experiment("dynamic", {"grpo.dynamic_sampling=true", "grpo.max_resample_rounds=2", "train.steps=3",
                               "rollout.max_new_tokens=1"}),
        {});
  double most_rounds = 0.0;
  for (const auto& line : metrics_of("dynamic")) {
    const double rounds = line["sampling_rounds"].get<double>(), groups = line["groups_trained"].get<double>();
    CHECK(rounds >= 1.0);
    CHECK(rounds <= 3.0);
    CHECK(groups == 2.0);  // a step always trains prompts_per_step groups
    most_rounds = std::max(most_rounds, rounds);
  }
  CHECK(most_rounds > 1.0);
}

TEST_CASE("a policy whose numbers are not finite stops the run with the step and what to do") {
  make_fixture();
  std::filesystem::remove_all(work / "nan-model");
  std::filesystem::copy(work / "model", work / "nan-model");
  {
    auto model = policy::load_causal_lm(work / "nan-model");
    at::NoGradGuard no_grad;
    model->named_parameters()["model.norm.weight"].fill_(std::nan(""));
    policy::save_causal_lm(*model, work / "nan-model", work / "model");
  }
  std::filesystem::remove_all(work / "diverged");
  auto config = experiment("diverged");
  config.model.path = (work / "nan-model").string();
  config.data.eval.clear();
  CHECK_THROWS_WITH(train(config, {}), Catch::Contains("step 1: sampling failed") &&
                                           Catch::Contains("no checkpoint was written yet") &&
                                           Catch::Contains("nan-model"));
}

TEST_CASE("settings the trainer cannot honour are refused before any work") {
  std::filesystem::remove_all(work / "refused");
  CHECK_THROWS_WITH(train(experiment("refused", {"rollout.endpoints=[\"http://127.0.0.1:8000\"]"}), {}),
                    Catch::Contains("rollout.token_file"));
  auto no_data = experiment("refused");
  no_data.data.train.clear();
  CHECK_THROWS_WITH(train(no_data, {}), Catch::Contains("data.train"));
  CHECK_FALSE(std::filesystem::exists(work / "refused" / "metrics.jsonl"));
}

TEST_CASE("a checkpoint with more embedding rows than tokenizer ids samples, trains and evaluates only those ids") {
  make_fixture();
  const auto padded = work / "padded-model";
  if (!std::filesystem::exists(padded)) save_tiny_demo_model(padded, BaseArchitecture::qwen2_moe, 3, 64);
  const int64_t ids = policy::Tokenizer::from_file(padded).vocab_size();
  auto model = policy::load_causal_lm(padded);
  REQUIRE(model->config().vocab_size == ids + 64);
  rollout::GenerationSettings settings;
  settings.max_new_tokens = 8;
  const std::vector<std::vector<int64_t>> prompts{{5, 17, 9}, {41, 3}};
  const auto largest_id = [&] {
    at::Generator generator = rollout::seeded_generator(at::kCPU, 7);
    int64_t largest = 0;
    for (const auto& c : rollout::generate(*model, prompts, 4, settings, generator))
      for (const int64_t t : c.tokens) largest = std::max(largest, t);
    return largest;
  };
  CHECK(largest_id() >= ids);  // the padded rows' logits win every draw they are allowed
  model->limit_vocabulary(ids);
  CHECK(largest_id() < ids);

  std::filesystem::remove_all(work / "padded");
  train(experiment("padded", {"model.path=\"" + padded.string() + "\""}), {});
  const auto lines = metrics_of("padded");
  REQUIRE(lines.size() == 4);
  for (const auto& line : lines) CHECK(line["logprob_mismatch"].get<double>() == 0.0);
  CHECK(std::filesystem::exists(work / "padded" / "eval_final.json"));
  CHECK(policy::CausalLM(policy::load_causal_lm(work / "padded" / "final"))->config().vocab_size == ids + 64);
}

TEST_CASE("activation checkpointing leaves every number of a run unchanged") {
  for (const char* run : {"plain", "checkpointed"}) std::filesystem::remove_all(work / run);
  train(experiment("plain", {"data.eval=\"\""}), {});
  train(experiment("checkpointed", {"data.eval=\"\"", "train.activation_checkpointing=true"}), {});
  const auto plain = metrics_of("plain"), checkpointed = metrics_of("checkpointed");
  REQUIRE(plain.size() == 4);
  REQUIRE(checkpointed.size() == plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) CHECK(training_numbers(plain[i]) == training_numbers(checkpointed[i]));
}

TEST_CASE("a run whose estimate exceeds the machine's memory is refused before the model loads") {
  std::filesystem::remove_all(work / "too-large");
  CHECK_THROWS_WITH(
      train(experiment("too-large", {"rollout.max_new_tokens=1048576", "train.micro_batch_tokens=1000000000"}), {}),
      Catch::Contains("this run needs about") && Catch::Contains("train.micro_batch_tokens"));
  CHECK_FALSE(std::filesystem::exists(work / "too-large" / "metrics.jsonl"));
}
