// The sections the trainer owns: [grpo] (the objective), [optim], [train] (the run) and [eval]
// (held-out evaluation); [data] is datasets::DataSection and [log] records::LogSection.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/config_binder.hpp"
#include "datasets/data_sections.hpp"
#include "records/log_section.hpp"

namespace aha::rl {

enum class AdvantageMode { group, batch, none };
enum class LossAggregation { grpo, bnpo, dr_grpo, dapo };
enum class ImportanceSampling { token, sequence };
enum class RolloutCorrection { none, token_truncate, token_mask, sequence_truncate, sequence_mask };
struct GrpoSection {
  AdvantageMode advantage = AdvantageMode::group;
  LossAggregation loss = LossAggregation::dapo;
  ImportanceSampling importance_sampling_level = ImportanceSampling::token;
  double epsilon_low = 0.2;
  double epsilon_high = 0.2;
  double beta = 0.0;
  double std_eps = 1e-4;
  int iterations = 1;    // mu
  int mini_batches = 1;  // optimizer updates per iteration, each over one consecutive part of the batch
  RolloutCorrection rollout_correction = RolloutCorrection::none;
  double rollout_correction_floor = 0.0;  // 0: no lower bound
  double rollout_correction_cap = 3.0;
  bool mask_truncated = false;
  bool dynamic_sampling = false;
  int max_resample_rounds = 3;
  bool routing_replay = true;
  bool router_aux_loss = false;
};

enum class Schedule { constant, linear, cosine };
struct OptimSection {
  double lr = 1e-6;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  Schedule schedule = Schedule::cosine;
  int warmup_steps = 0;
  double min_lr_ratio = 0.0;
  double max_grad_norm = 1.0;
};

struct TrainSection {
  int steps = 100;
  std::int64_t seed = 0;
  std::string output_dir = "runs/experiment";
  int micro_batch_tokens = 8192;
  int save_every = 50;
  int eval_every = 0;
  int threads = 0;
  int micro_batch_threads = 0;
  bool activation_checkpointing = false;
};

struct EvalSection {
  int samples = 4;  // K samples per problem
  double temperature = 0.6;
  double top_p = 0.95;
  int max_new_tokens = 0;  // 0: the rollout's
  int batch_prompts = 16;
};

inline constexpr std::string_view grpo_section_doc =
    "The GRPO objective: group-relative advantages, the clipped ratio, the k3 KL penalty and how token "
    "losses are averaged.";
inline constexpr std::string_view optim_section_doc = "AdamW and its learning-rate schedule.";
inline constexpr std::string_view train_section_doc = "The run: its length, seed, batching and checkpoints.";
inline constexpr std::string_view eval_section_doc =
    "Held-out evaluation on data.eval at the start, every train.eval_every steps and at the end: K samples per "
    "problem, DeepSeek-R1's protocol by default, judged by the math rule.";

void bind(config::Binder& b, GrpoSection& s);
void bind(config::Binder& b, OptimSection& s);
void bind(config::Binder& b, TrainSection& s);
void bind(config::Binder& b, EvalSection& s);
// The `threads`, `micro_batch_threads` and `activation_checkpointing` keys every training section has.
void bind_compute_keys(config::Binder& b, int& threads, int& micro_batch_threads, bool& activation_checkpointing);

}  // namespace aha::rl
