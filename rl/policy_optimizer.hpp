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
  int steps_taken() const { return steps_taken_; }
  void set_steps_taken(int steps) { steps_taken_ = steps; }  // when resuming
  torch::optim::AdamW& optimizer() { return *optimizer_; }

 private:
  // Clips the gradient, sets the scheduled rate for update `update` of `total_updates`, steps
  // AdamW; returns the gradient norm before clipping and the rate.
  std::pair<double, double> apply_update(int update, int total_updates);
  std::vector<MicroBatch> micro_batches(const std::vector<TrainingSequence>& batch) const;
  bool owned(std::size_t micro_batch) const;  // whether this rank runs it
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
};

// Whether a parameter name matches a freeze pattern ('*' matches any run of characters).
bool matches_pattern(std::string_view name, std::string_view pattern);

}  // namespace aha::rl
