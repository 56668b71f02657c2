// Checkpoints of a run: OUTPUT/checkpoint-<step>/ holds the model as a Hugging Face folder (with
// the tokenizer) plus the trainer state (AdamW moments, the sampling RNG, the step, the data
// cursor and the rollouts sampled ahead). A checkpoint is written under a temporary name and renamed, then
// OUTPUT/latest is replaced the same way, so a kill at any moment leaves the previous checkpoint usable.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <optional>

#include "datasets/prompt_source.hpp"
#include "policy/transformer.hpp"

namespace aha::rl {

struct TrainerState {
  int64_t step = 0;  // optimizer steps done
  datasets::PromptCursor cursor;
  // With rollout.max_staleness: the steps already sampled, as JSON (rl/rollouts_json.hpp), saved
  // as sampled_ahead.json; empty: none.
  std::string sampled_ahead;
};

void save_run_checkpoint(const std::filesystem::path& output_dir, policy::CausalLMImpl& model,
                         torch::optim::Optimizer& optimizer, at::Generator& sampling_rng, const TrainerState& state,
                         const std::filesystem::path& tokenizer_from, int keep_last = 2);

// The checkpoint a run in `output_dir` continues from: OUTPUT/latest with `resume`, none without.
// Throws aha::Error when resuming finds no checkpoint, or when not resuming the folder holds a run.
// On --resume: compares the run's config.toml with `config_toml`, the config now given. A change
// to a key that alters the run's numbers (lr, group size, seed, a reward) is refused unless
// `allow_changes` (--override); every change is printed. Keys that only extend or observe the
// run may change freely: train.steps, save_every, eval_every, threads, output_dir, the [log]
// section and where the rollout workers are.
void check_resumed_config(const std::filesystem::path& output_dir, const std::string& config_toml, bool allow_changes);

std::optional<std::filesystem::path> checkpoint_to_resume(const std::filesystem::path& output_dir, bool resume,
                                                          const std::string& output_key);

// The checkpoint OUTPUT/latest names, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& output_dir);

// What to do after a diverged step: resume from the latest checkpoint with a lower learning
// rate, or check the starting model when no checkpoint was written.
std::string recovery_hint(const std::filesystem::path& output_dir, const std::string& model_path);

// Restores weights, optimizer moments and the RNG; returns the step and cursor to continue from.
TrainerState load_run_checkpoint(const std::filesystem::path& checkpoint, policy::CausalLMImpl& model,
                                 torch::optim::Optimizer& optimizer, at::Generator& sampling_rng);

}  // namespace aha::rl
