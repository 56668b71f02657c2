// One optimizer step over a batch of sequences. GRPO (step): the batch cut into grpo.mini_batches
// parts; the frozen reference's log-probs when beta > 0; with more than one update, the old
// log-probs (and the rollout correction) under the weights that begin the step; then for each of
// mu iterations, for each part, one update: every micro-batch's forward, its share of the loss
// normalised over the update, and its backward; the gradients summed over the ranks, the norm
// clipped, the scheduled learning rate set, and AdamW. Supervised fine-tuning and
// pretraining (sft_step): the mean negative log-likelihood of the completion tokens over the whole
// step, then the same update. Frozen parameters (by name pattern) never change. How a micro-batch
// runs is rl/micro_batch_forward.hpp; how their gradients add up, rl/gradient_accumulation.hpp.
#pragma once

#include <torch/optim/adamw.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/transformer.hpp"
#include "rl/training_batch.hpp"
#include "rl/training_sections.hpp"

namespace aha::rl {

class DataParallel;

// How every trainer's updates are made: GRPO, SFT and pretraining alike.
struct UpdateSettings {
  OptimSection optim;
  int total_steps = 1;                // the learning-rate schedule's length
  int64_t micro_batch_tokens = 8192;  // padded tokens per micro-batch
  std::vector<std::string> freeze;    // name patterns of parameters that never change ('*': any run)
  int64_t min_shared_prefix = 16;     // prompt beginnings rows share are computed once; 0: never
  bool router_aux_loss = false;       // add the MoE load-balancing loss
};

// What the GRPO loss needs beyond the [grpo] section.
struct GrpoObjective {
  GrpoSection grpo;
  std::optional<policy::CausalLM> reference;  // frozen; the KL term's when grpo.beta > 0
  int max_new_tokens = 0;                     // the rollout limit (dr_grpo's constant)
  double temperature = 1.0;                   // the sampling temperature, applied in every pass
};

// The rollout correction's weight over the step (after truncation or masking), over the tokens in
// the loss (token modes) or the completions (sequence modes), as TRL logs it.
struct CorrectionStats {
  double mean = 0.0, min = 0.0, max = 0.0;
  double outside = 0.0;  // share whose ratio fell outside [floor, cap]: truncated or masked
};

// A step's statistics. With several updates (grpo.iterations, grpo.mini_batches), the loss and
// gradient norm are their means, the token statistics are over every update's tokens, and the
// mismatch, routing and correction statistics are those of the weights that began the step.
struct StepStats {
  double loss = 0.0;
  double kl = 0.0;                // mean k3 KL per token (0 when beta = 0)
  double clip_low = 0.0;          // share of tokens clipped below
  double clip_high = 0.0;         // share of tokens clipped above
  double entropy = 0.0;           // mean entropy per completion token
  double grad_norm = 0.0;         // before clipping
  double learning_rate = 0.0;     // of the step's last update
  double logprob_mismatch = 0.0;  // max |sampling log-prob - training log-prob|
  // Share of recorded (token, MoE layer) pairs whose expert set the training pass would choose
  // differently from sampling; none when no routing was recorded.
  std::optional<double> routing_mismatch;
  std::optional<CorrectionStats> correction;  // with grpo.rollout_correction
  int64_t tokens = 0;                         // completion tokens in the loss
};

class PolicyOptimizer {
 public:
  PolicyOptimizer(policy::CausalLM policy, UpdateSettings update, GrpoObjective objective = {});

  // `stale`: the batch was sampled by older weights than those that begin the step (sampling
  // ahead); without rollout correction the sampler's log-probs are then the ratio's denominator.
  StepStats step(const std::vector<TrainingSequence>& batch, bool stale = false);
  // Completion tokens only carry loss; advantages and sampling log-probs are ignored.
  StepStats sft_step(const std::vector<TrainingSequence>& batch);
  // With data parallelism every rank is given the whole step's batch, runs the micro-batches it
  // owns (DataParallel::owns), and the gradients and statistics are summed over the ranks.
  void set_data_parallel(DataParallel* data_parallel) { data_parallel_ = data_parallel; }
  // Runs up to `threads` micro-batches at once on the CPU (rl/gradient_accumulation.hpp); the
  // update depends on the count, never on timing. 1: one at a time; 0: as many as LibTorch has threads.
  void set_micro_batch_threads(int threads);
  void set_steps_taken(int steps) { steps_taken_ = steps; }  // when resuming
  torch::optim::AdamW& optimizer() { return *optimizer_; }

 private:
  struct MiniBatch;
  // The step's batch cut into grpo.mini_batches consecutive parts, each with its micro-batches.
  std::vector<MiniBatch> mini_batches(const std::vector<TrainingSequence>& batch);
  std::vector<MicroBatch> micro_batches(const std::vector<TrainingSequence>& batch) const;
  // With more than one update per step: the old log-probs and rollout correction of `part` under
  // the weights before the step's first update, and their statistics into `rows`.
  void look_before_updates(MiniBatch& part, std::vector<at::Tensor>& rows);
  // The forward and backward of every micro-batch of `part`, their statistics into `rows`, and the
  // gradients summed over the ranks.
  void train_update(const MiniBatch& part, std::vector<at::Tensor>& rows);
  std::vector<std::size_t> owned(std::size_t micro_batches) const;  // the indices this rank runs
  int micro_batch_threads(std::size_t micro_batches) const;
  std::vector<at::Tensor> reference_logprobs(const std::vector<MicroBatch>& micro_batches);
  // Clips the gradient, sets the scheduled rate for update `update` of `total_updates`, steps
  // AdamW; returns the gradient norm before clipping and the rate.
  std::pair<double, double> apply_update(int update, int total_updates);

  policy::CausalLM policy_;
  UpdateSettings update_;
  GrpoObjective objective_;
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
