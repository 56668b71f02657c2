// The memory a GRPO run will hold on the CPU, estimated before anything is loaded, from the
// checkpoint's shapes and the config: float32 weights, gradients and AdamW moments (4 + 4 + 8
// bytes per parameter), the reference model, the activations of the micro-batches in flight,
// and what sampling holds (the decoder's packed weights, the KV cache, the logits). The trainer
// picks the micro-batch threads that fit and refuses a config that cannot fit, naming the sums.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/model_config.hpp"

namespace aha::rl {

struct ExperimentConfig;

// What of a run decides its memory.
struct RunShape {
  policy::ModelConfig model;
  int64_t parameters = 0;  // in the checkpoint
  int64_t trainable = 0;   // not frozen
  int64_t vocabulary = 0;  // ids the tokenizer has: the LM head rows in use
  bool reference = false;  // a frozen reference model (grpo.beta > 0)
  int workers = 1;         // rollout workers in this process (0: remote workers sample)
  int sampling_ahead = 0;  // rollout.max_staleness: copies of the weights; sampling overlaps training
  int64_t prompts = 0, group_size = 0, prompt_tokens = 0, new_tokens = 0;  // one step's batch
  int64_t eval_rows = 0;  // rows of one evaluation batch (0: no evaluation)
  int64_t micro_batch_tokens = 0;
  int micro_batch_threads = 1;
  bool activation_checkpointing = false;  // each layer keeps only its input
};

struct MemoryItem {
  std::string what;
  double bytes = 0.0;
};

struct MemoryEstimate {
  std::vector<MemoryItem> held;      // all run long
  std::vector<MemoryItem> sampling;  // while a batch samples (or the policy is evaluated)
  std::vector<MemoryItem> training;  // while it trains
  double peak() const;               // held + the larger of the two phases
  // "11.3 GB at the peak of training: weights 2.0 GB, AdamW moments 4.0 GB, ..."
  std::string describe() const;
};

MemoryEstimate estimate_memory(const RunShape& shape);

// The shape of `config`'s run on the CPU: the checkpoint's config.json and tensor shapes (read
// from the safetensors headers), a tokenizer of `vocabulary` ids, `threads` CPU threads.
RunShape run_shape(const ExperimentConfig& config, int64_t vocabulary, int threads);

// train.micro_batch_threads for `shape` on `threads` cores with `available` bytes free: `asked`
// when it is above 0, else the most threads whose estimate takes at most half of `available`
// (each thread holds its own micro-batch's gradient and activations), at least one. Throws a
// ConfigError naming the estimate and the settings to lower when the run cannot fit `available`.
int plan_micro_batch_threads(RunShape shape, int asked, int threads, int64_t available);

}  // namespace aha::rl
