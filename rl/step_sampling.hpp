// The rollouts of one GRPO step: prompts drawn from the source (those longer than
// data.max_prompt_tokens skipped and counted), one rollout job per worker of every rank with its
// own seed drawn in order, the completions gathered from every rank, scored by the reward rules,
// and kept as whole groups. With dynamic sampling, groups whose rewards all agree carry no
// signal: they are set aside and fresh prompts drawn, up to grpo.max_resample_rounds times.
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <vector>

#include "datasets/prompt_source.hpp"
#include "policy/tokenizer.hpp"
#include "rewards/reward_pipeline.hpp"
#include "rl/experiment_config.hpp"
#include "rl/scored_completion.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rl {

class DataParallel;

// Everything one step sampled: the groups kept for training and every completion drawn.
struct StepRollouts {
  std::vector<ScoredCompletion> kept;  // rollout.prompts_per_step whole groups, in the order drawn
  std::vector<ScoredCompletion> all;   // every completion sampled this step (for the metrics)
  int64_t groups = 0, zero_std_groups = 0, rounds = 0, generated_tokens = 0, prompts_skipped = 0;
  int64_t weight_version = 0;  // the optimizer steps behind the weights that sampled them
  double rollout_seconds = 0.0, reward_seconds = 0.0;
};

class StepSampler {
 public:
  // Keeps references to every argument; `rng` draws the jobs' seeds (the run checkpoint saves it).
  StepSampler(const ExperimentConfig& config, datasets::PromptSource& prompts, const policy::Tokenizer& tokenizer,
              const std::vector<int64_t>& eos_ids, const rewards::RewardPipeline& rewards,
              const rewards::ReflectionPhrases& phrases, rollout::RolloutBackend& backend, at::Generator& rng,
              DataParallel* data_parallel);

  // Samples with the weights of `version` (the backend's published ones); throws aha::Error when a
  // worker answers from another.
  StepRollouts sample(int64_t step, int64_t version);

 private:
  // The next `count` prompts that fit data.max_prompt_tokens: record indices and token ids.
  std::pair<std::vector<std::size_t>, std::vector<std::vector<int64_t>>> draw_prompts(std::size_t count,
                                                                                      StepRollouts& out);
  // G completions per prompt from the rollout workers, in prompt order, on every rank.
  std::vector<rollout::Completion> roll_out(const std::vector<std::vector<int64_t>>& prompts, int64_t step,
                                            int64_t version);
  // Every job's completions on every rank: each rank sampled the jobs it owns.
  std::vector<std::vector<rollout::Completion>> gather(std::vector<std::vector<rollout::Completion>> by_job) const;
  // The reward pipeline over `inputs`; with data parallelism each rank scores every world-th
  // input and the scores are gathered, so sandboxed programs run once.
  std::vector<rewards::ScoreRecord> score(const std::vector<rewards::CompletionRecord>& inputs) const;

  const ExperimentConfig& c_;
  datasets::PromptSource& prompts_;
  const policy::Tokenizer& tokenizer_;
  const std::vector<int64_t>& eos_ids_;
  const rewards::RewardPipeline& rewards_;
  const rewards::ReflectionPhrases& phrases_;
  rollout::RolloutBackend& backend_;
  at::Generator& rng_;
  DataParallel* dp_;
};

}  // namespace aha::rl
