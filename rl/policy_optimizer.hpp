// One optimizer step over a batch of sequences. GRPO (step): for each of mu iterations, every micro-batch runs
// the policy (and the frozen reference when beta > 0), computes the loss normalised over the
// whole step, and back-propagates; then the gradient norm is clipped, the learning rate set from
// the schedule, and AdamW steps. Supervised fine-tuning (sft_step): the mean negative log-likelihood
// of the completion tokens over the whole step, then the same update. Frozen parameters (by name
// pattern) never change. Prompt beginnings that rows share are computed once per micro-batch
// (see PrefixLayout); `min_shared_prefix` = 0 turns that off. Under data parallelism the ranks
// split the micro-batches and sum their gradients before the update.
#pragma once

#include <torch/optim/adamw.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/transformer.hpp"
#include "rl/training_batch.hpp"
#include "rl/training_sections.hpp"

namespace aha::rl {

class DataParallel;

struct StepStats {
  double loss = 0.0;
  double kl = 0.0;            // mean k3 KL per token (0 when beta = 0)
  double clip_low = 0.0;      // share of tokens clipped below
  double clip_high = 0.0;     // share of tokens clipped above
  double entropy = 0.0;       // mean entropy per completion token
  double grad_norm = 0.0;     // before clipping
  double learning_rate = 0.0;
  double logprob_mismatch = 0.0;  // max |sampling log-prob - training log-prob| at the first iteration
  // Share of recorded (token, MoE layer) pairs whose expert set the training pass would choose
  // differently from sampling, at the first iteration; none when no routing was recorded.
  std::optional<double> routing_mismatch;
  int64_t tokens = 0;
};

class PolicyOptimizer {
 public:
  PolicyOptimizer(policy::CausalLM policy, std::optional<policy::CausalLM> reference, GrpoSection grpo,
                  OptimSection optim, int total_steps, int max_new_tokens, double temperature,
                  int64_t micro_batch_tokens, const std::vector<std::string>& freeze,
                  int64_t min_shared_prefix = 16);

  StepStats step(const std::vector<TrainingSequence>& batch);
  // Completion tokens only carry loss; advantages and sampling log-probs are ignored.
  StepStats sft_step(const std::vector<TrainingSequence>& batch);
  // With data parallelism each rank runs every world-th micro-batch of the step (all ranks are
  // given the whole step's batch) and the gradients and statistics are summed over the ranks.
  void set_data_parallel(DataParallel* data_parallel) { data_parallel_ = data_parallel; }
  // Runs up to `threads` micro-batches at once on the CPU, each on its own thread over the
  // policy's one copy of the weights, each with its own gradient (the threads share the cores the
  // process has); the gradients are summed in micro-batch order, so the update depends on the
  // count, never on timing. 1: one at a time; 0: as many as LibTorch has threads.
  void set_micro_batch_threads(int threads);
  int steps_taken() const { return steps_taken_; }
  void set_steps_taken(int steps) { steps_taken_ = steps; }  // when resuming
  torch::optim::AdamW& optimizer() { return *optimizer_; }

 private:
  // Clips the gradient, sets the scheduled rate for update `update` of `total_updates`, steps
  // AdamW; returns the gradient norm before clipping and the rate.
  std::pair<double, double> apply_update(int update, int total_updates);
  std::vector<MicroBatch> micro_batches(const std::vector<TrainingSequence>& batch) const;
  bool owned(std::size_t micro_batch) const;  // whether this rank runs it
  // What one micro-batch's forward and backward add to the step's statistics.
  struct MicroBatchStats {
    double loss = 0.0, kl = 0.0, low = 0.0, high = 0.0, entropy = 0.0, mismatch = 0.0;
    double routing_differs = 0.0, routing_pairs = 0.0;
  };
  // A micro-batch's loss (its backward is the caller's) and its statistics.
  using MicroBatchWork = std::function<std::pair<at::Tensor, MicroBatchStats>(std::size_t micro_batch)>;
  // Runs `work` on each micro-batch this rank owns, back-propagates its loss, and leaves the summed
  // gradient on the policy's parameters. Statistics per micro-batch.
  std::vector<MicroBatchStats> run_micro_batches(std::size_t count, const MicroBatchWork& work);
  int threads_for(std::size_t owned_micro_batches) const;
  policy::CausalLM policy_;
  std::optional<policy::CausalLM> reference_;
  GrpoSection grpo_;
  OptimSection optim_;
  int total_steps_, max_new_tokens_;
  double temperature_;
  int64_t micro_batch_tokens_, min_shared_prefix_;
  std::vector<at::Tensor> trainable_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int steps_taken_ = 0;
  DataParallel* data_parallel_ = nullptr;
  int micro_batch_threads_ = 1;
  int cpu_threads_ = 1;  // the run's CPU threads, as LibTorch had them when the optimizer was made
};

// Whether a parameter name matches a freeze pattern ('*' matches any run of characters).
bool matches_pattern(std::string_view name, std::string_view pattern);

}  // namespace aha::rl
