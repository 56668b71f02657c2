// `aha sft`: supervised fine-tuning with the GRPO trainer's machinery. Each step takes
// train.batch_size pairs in a seeded order, packs them into micro-batches to a token budget, and
// minimises the mean negative log-likelihood of the completion tokens of the whole step (the
// prompt carries no loss); AdamW with the schedule, clipping and frozen patterns of [optim] and
// [model]. Metrics go to the console, metrics.jsonl and TensorBoard; held-out evaluation runs at
// the start, every eval_every steps and at the end; checkpoints let --resume continue exactly.
#pragma once

#include "rl/sft_config.hpp"

namespace aha::rl {

struct SftOptions {
  bool resume = false;           // continue from OUTPUT/latest
  bool override_config = false;  // with resume: accept settings that differ from the run's
};

// Runs the fine-tuning to its last step. Throws aha::Error on bad data (naming file:line), a
// teacher/student tokenizer mismatch, a non-finite loss, or an output folder holding a run when
// not resuming.
void fine_tune(const SftConfig& config, const SftOptions& options);

}  // namespace aha::rl
