// Keys of the [grpo], [optim], [train] and [eval] sections.
#include "rl/training_sections.hpp"

namespace aha::rl {

namespace {

using config::Binder;

constexpr std::array<std::pair<AdvantageMode, std::string_view>, 3> advantage_names{
    {{AdvantageMode::group, "group"}, {AdvantageMode::batch, "batch"}, {AdvantageMode::none, "none"}}};
constexpr std::array<std::pair<LossAggregation, std::string_view>, 4> loss_names{{{LossAggregation::grpo, "grpo"},
                                                                                  {LossAggregation::bnpo, "bnpo"},
                                                                                  {LossAggregation::dr_grpo, "dr_grpo"},
                                                                                  {LossAggregation::dapo, "dapo"}}};
constexpr std::array<std::pair<ImportanceSampling, std::string_view>, 2> importance_sampling_names{
    {{ImportanceSampling::token, "token"}, {ImportanceSampling::sequence, "sequence"}}};
constexpr std::array<std::pair<RolloutCorrection, std::string_view>, 5> rollout_correction_names{
    {{RolloutCorrection::none, "none"},
     {RolloutCorrection::token_truncate, "token_truncate"},
     {RolloutCorrection::token_mask, "token_mask"},
     {RolloutCorrection::sequence_truncate, "sequence_truncate"},
     {RolloutCorrection::sequence_mask, "sequence_mask"}}};
constexpr std::array<std::pair<Schedule, std::string_view>, 3> schedule_names{
    {{Schedule::constant, "constant"}, {Schedule::linear, "linear"}, {Schedule::cosine, "cosine"}}};

constexpr int unbounded = 1 << 30;

}  // namespace

void bind(Binder& b, GrpoSection& s) {
  b.choice({"advantage", "(r - mean) / (std + std_eps) over each group, or over the batch; none: r - group mean "
                         "(Dr. GRPO)"},
           s.advantage, AdvantageMode::group, advantage_names);
  b.choice({"loss", "token-loss averaging: grpo (per sequence, then over sequences), bnpo (over the batch's "
                    "tokens), dr_grpo (sum / (sequences * max_new_tokens)), dapo (over all tokens of the step)"},
           s.loss, LossAggregation::dapo, loss_names);
  b.choice({"importance_sampling_level", "token: each token's ratio is clipped (GRPO); sequence: one ratio per "
                                         "completion, the exponent of its mean token log-ratio, clipped as a whole "
                                         "(GSPO, as TRL computes it)"},
           s.importance_sampling_level, ImportanceSampling::token, importance_sampling_names);
  b.number({"epsilon_low", "the ratio is clipped below at 1 - epsilon_low"}, s.epsilon_low, 0.2,
           {0.0, 1.0, false, true});
  b.number({"epsilon_high", "the ratio is clipped above at 1 + epsilon_high (DAPO's clip-higher: 0.28)"},
           s.epsilon_high, 0.2, {0.0, 10.0});
  b.number({"beta", "weight of the k3 KL penalty against the reference; 0: no reference is kept"}, s.beta, 0.0,
           {0.0, 100.0});
  b.number({"std_eps", "added to the reward std before dividing"}, s.std_eps, 1e-4, {0.0, 1.0, true, false});
  b.integer({"iterations",
             "passes over each step's batch (mu, TRL's num_iterations); with more than one update "
             "per step the ratio's denominator is the trainer's log-probs before the step's first update"},
            s.iterations, 1, {1, 64});
  b.integer({"mini_batches", "optimizer updates per pass: the step's batch cut into this many consecutive parts "
                             "(TRL's steps_per_generation / gradient_accumulation_steps); it must divide the "
                             "batch's completions"},
            s.mini_batches, 1, {1, 1024});
  b.choice({"rollout_correction",
            "weight each token's loss by the ratio r = pi_old / pi_sampler between the trainer's log-probs before "
            "the step and the sampler's (remote workers, model.batch_invariant = false, rollout.max_staleness > 0): "
            "per token or per completion (the sum of its token log-ratios), truncated to "
            "[rollout_correction_floor, rollout_correction_cap] or set to 0 outside it (TRL's "
            "vllm_importance_sampling_mode)"},
           s.rollout_correction, RolloutCorrection::none, rollout_correction_names);
  b.number({"rollout_correction_floor", "lower bound of the rollout correction ratio; 0: none"},
           s.rollout_correction_floor, 0.0, {0.0, 1.0});
  b.number({"rollout_correction_cap", "upper bound of the rollout correction ratio (TRL's "
                                      "vllm_importance_sampling_clip_max)"},
           s.rollout_correction_cap, 3.0, {1.0, 1e6});
  b.boolean({"mask_truncated", "exclude completions cut at max_new_tokens from the loss"}, s.mask_truncated, false);
  b.boolean({"dynamic_sampling", "replace groups whose rewards are all equal with fresh prompts"}, s.dynamic_sampling,
            false);
  b.integer({"max_resample_rounds", "how many times dynamic sampling may draw more prompts in one step"},
            s.max_resample_rounds, 3, {0, 100});
  b.boolean({"routing_replay", "replay the experts chosen at sampling in the training forward (MoE)"}, s.routing_replay,
            true);
  b.boolean({"router_aux_loss", "add the checkpoint's router_aux_loss_coef times the load-balancing loss, computed "
                                "over the whole step (MoE; costs one forward pass without gradient)"},
            s.router_aux_loss, false);
}

void bind(Binder& b, OptimSection& s) {
  b.number({"lr", "peak learning rate"}, s.lr, 1e-6, {0.0, 1.0, true, false});
  b.number({"weight_decay", "AdamW decoupled weight decay"}, s.weight_decay, 0.0, {0.0, 1.0});
  b.number({"beta1", "AdamW first-moment decay"}, s.beta1, 0.9, {0.0, 1.0, false, true});
  b.number({"beta2", "AdamW second-moment decay"}, s.beta2, 0.999, {0.0, 1.0, false, true});
  b.number({"eps", "AdamW denominator epsilon"}, s.eps, 1e-8, {0.0, 1.0, true, false});
  b.choice({"schedule", "learning rate after warmup: constant, linear decay or cosine decay to min_lr_ratio * lr"},
           s.schedule, Schedule::cosine, schedule_names);
  b.integer({"warmup_steps", "steps of linear warmup from 0 to lr"}, s.warmup_steps, 0, {0, unbounded});
  b.number({"min_lr_ratio", "the decay ends at min_lr_ratio * lr"}, s.min_lr_ratio, 0.0, {0.0, 1.0});
  b.number({"max_grad_norm", "clip the global gradient norm to this; 0: no clipping"}, s.max_grad_norm, 1.0,
           {0.0, 1e9});
}

void bind(Binder& b, TrainSection& s) {
  b.integer({"steps", "optimizer steps in the run"}, s.steps, 100, {1, unbounded});
  b.integer({"seed", "seeds sampling, shuffling and initialisation: the same seed gives the same metrics"}, s.seed,
            std::int64_t{0}, {0, std::numeric_limits<std::int64_t>::max()});
  b.text({"output_dir", "folder for checkpoints, metrics.jsonl, TensorBoard files and plots"}, s.output_dir,
         "runs/experiment");
  b.integer({"micro_batch_tokens", "token budget of one forward/backward; a step accumulates micro-batches"},
            s.micro_batch_tokens, 8192, {1, unbounded});
  b.integer({"save_every", "checkpoint every this many steps; 0: only at the end"}, s.save_every, 50, {0, unbounded});
  b.integer({"eval_every", "evaluate on data.eval every this many steps; 0: only at the start and the end"},
            s.eval_every, 0, {0, unbounded});
  bind_compute_keys(b, s.threads, s.micro_batch_threads, s.activation_checkpointing);
}

void bind_compute_keys(Binder& b, int& threads, int& micro_batch_threads, bool& activation_checkpointing) {
  b.integer({"threads", "CPU threads for LibTorch; 0: all cores"}, threads, 0, {0, 4096});
  b.integer({"micro_batch_threads",
             "micro-batches trained at once on the CPU, each on its own thread over the policy's one copy of the "
             "weights with a gradient of its own, the gradients summed in a fixed order; 0: one per thread (aha "
             "train: as many as its memory estimate fits in half the available memory); 1: one at a time on "
             "every thread"},
            micro_batch_threads, 0, {0, 4096});
  b.boolean({"activation_checkpointing",
             "keep only each layer's input between the forward and the backward and run the layer again there: "
             "a third more arithmetic for about a fifteenth of the activation memory (long completions, large "
             "models); the gradients are the same bit for bit"},
            activation_checkpointing, false);
}

void bind(Binder& b, EvalSection& s) {
  b.integer({"samples", "K: samples per problem; pass@1 is averaged over them, pass@K and maj@K use all"}, s.samples, 4,
            {1, 1024});
  b.number({"temperature", "sampling temperature"}, s.temperature, 0.6, {0.0, 100.0, true, false});
  b.number({"top_p", "nucleus sampling mass"}, s.top_p, 0.95, {0.0, 1.0, true, false});
  b.integer({"max_new_tokens", "longest completion; 0: rollout.max_new_tokens (512 in aha sft)"}, s.max_new_tokens, 0,
            {0, unbounded});
  b.integer({"batch_prompts", "problems sampled together"}, s.batch_prompts, 16, {1, unbounded});
}

}  // namespace aha::rl
