// `aha train`: the R1-Zero loop as one story. Each step draws prompts, the rollout workers sample
// G completions per prompt, the reward rules score them, group-relative advantages weigh them,
// the policy takes one GRPO optimizer step, and the new weights go back to the workers; the
// step's numbers go to the console, metrics.jsonl and TensorBoard. Held-out evaluation runs at
// the start, every eval_every steps and at the end; checkpoints every save_every steps and at the
// end let --resume continue as if the run had never stopped.
#pragma once

#include "rl/experiment_config.hpp"

namespace aha::rl {

struct TrainOptions {
  bool resume = false;           // continue from OUTPUT/latest
  bool override_config = false;  // with resume: accept settings that differ from the run's
};

// Runs the experiment to config.train.steps. Throws aha::Error on bad data, a non-finite loss
// (naming the step and the checkpoint to resume from) or an output folder that already holds
// a run when not resuming.
void train(const ExperimentConfig& config, const TrainOptions& options);

}  // namespace aha::rl
