// train(): setup, then for each step: sample -> score -> advantages -> optimizer step -> weights
// to the workers -> metrics, evaluation and checkpoints.
#include "rl/grpo_trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <map>

#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "core/http_client.hpp"
#include "core/process_memory.hpp"
#include "core/wall_clock.hpp"
#include "kernels/cpu_threads.hpp"
#include "policy/checkpoint.hpp"
#include "policy/tokenizer.hpp"
#include "records/curve_plot.hpp"
#include "records/metrics_log.hpp"
#include "records/progress_bar.hpp"
#include "rl/advantages.hpp"
#include "rl/data_parallel.hpp"
#include "rl/evaluation.hpp"
#include "rl/memory_plan.hpp"
#include "rl/model_loading.hpp"
#include "rl/policy_optimizer.hpp"
#include "rl/rollouts_json.hpp"
#include "rl/run_checkpoint.hpp"
#include "rl/sampling_ahead.hpp"
#include "rl/step_sampling.hpp"
#include "rollout/remote_pool.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rl {

namespace {

// The numbers of one step that metrics.jsonl, TensorBoard and the progress bar show.
records::StepMetrics step_metrics(int64_t step, const ExperimentConfig& c, const StepRollouts& rollouts,
                                  const StepStats& stats, const std::vector<TrainingSequence>& batch,
                                  double train_seconds) {
  records::StepMetrics m;
  add_rollout_metrics(m, rollouts.all, c.rewards);
  m.add("frac_zero_std", static_cast<double>(rollouts.zero_std_groups) / static_cast<double>(rollouts.groups));
  m.add("loss", stats.loss);
  m.add("kl", stats.kl);
  m.add("entropy", stats.entropy);
  m.add("clip_fraction_low", stats.clip_low);
  m.add("clip_fraction_high", stats.clip_high);
  m.add("grad_norm", stats.grad_norm);
  m.add("learning_rate", stats.learning_rate);
  m.add("logprob_mismatch", stats.logprob_mismatch);
  if (stats.routing_mismatch) m.add("routing_mismatch", *stats.routing_mismatch);
  if (stats.correction) {
    m.add("rollout_correction_mean", stats.correction->mean);
    m.add("rollout_correction_min", stats.correction->min);
    m.add("rollout_correction_max", stats.correction->max);
    m.add("rollout_correction_outside", stats.correction->outside);
  }
  m.add("staleness", static_cast<double>(step - 1 - rollouts.weight_version));
  m.add("groups_trained", static_cast<double>(rollouts.kept.size() / static_cast<std::size_t>(c.rollout.group_size)));
  m.add("sampling_rounds", static_cast<double>(rollouts.rounds));
  m.add("prompts_skipped", static_cast<double>(rollouts.prompts_skipped));
  int64_t trained_tokens = 0;
  for (const auto& s : batch) trained_tokens += static_cast<int64_t>(s.prompt.size() + s.completion.size());
  m.add("rollout_tokens_per_s", static_cast<double>(rollouts.generated_tokens) / rollouts.rollout_seconds);
  m.add("train_tokens_per_s", static_cast<double>(trained_tokens) / train_seconds);
  m.add("time_rollout_s", rollouts.rollout_seconds);
  m.add("time_reward_s", rollouts.reward_seconds);
  m.add("time_train_s", train_seconds);
  return m;
}

class Trainer {
 public:
  Trainer(const ExperimentConfig& config, const TrainOptions& options, DataParallel* data_parallel);
  void run();

 private:
  void read_data();
  int plan_memory();  // -> micro-batch threads
  void load_models(const std::optional<std::filesystem::path>& resume_from, int micro_batch_threads);
  std::unique_ptr<rollout::RolloutBackend> rollout_backend();
  StepRollouts sample(int64_t step, int64_t version);
  // rollout.max_staleness > 0: the first steps sampled ahead, or those a resumed checkpoint holds.
  void start_sampling_ahead();
  std::vector<TrainingSequence> training_batch(const std::vector<ScoredCompletion>& kept) const;
  void evaluate_into(const std::string& file, records::StepMetrics* metrics);
  void save(int64_t step);
  bool leader() const { return !dp_ || dp_->rank() == 0; }  // writes logs, evaluations and checkpoints

  const ExperimentConfig c_;
  const std::filesystem::path out_;
  at::Device device_;
  policy::Tokenizer tokenizer_;
  policy::CausalLM policy_{nullptr};
  std::vector<int64_t> eos_ids_;
  std::unique_ptr<datasets::PromptSource> prompts_;
  std::size_t duplicates_dropped_ = 0;
  std::vector<datasets::PromptRecord> eval_problems_;
  rewards::RewardPipeline rewards_;
  rewards::ReflectionPhrases phrases_;
  std::unique_ptr<PolicyOptimizer> optimizer_;
  at::Generator rng_;
  int64_t start_step_ = 0;
  int threads_ = 1;  // the run's CPU threads (this thread keeps one of them between phases)
  std::unique_ptr<rollout::RolloutBackend> backend_;
  std::unique_ptr<DataParallel> sampling_channel_;  // the collectives of sampling ahead
  std::unique_ptr<StepSampler> sampler_;
  std::unique_ptr<SamplingAhead> ahead_;  // with rollout.max_staleness > 0
  std::string resumed_ahead_;             // the checkpoint's rollouts sampled ahead (JSON)
  DataParallel* dp_;
};

Trainer::Trainer(const ExperimentConfig& config, const TrainOptions& options, DataParallel* data_parallel)
    : c_(config),
      out_(config.train.output_dir),
      device_(training_device(config.model.device)),
      tokenizer_(policy::Tokenizer::from_file(config.model.path)),
      rewards_(config.rewards),
      phrases_(reflection_phrases(config.rewards)),
      rng_(at::detail::createCPUGenerator(static_cast<uint64_t>(config.train.seed))),
      dp_(data_parallel) {
  if (c_.train.threads > 0) at::set_num_threads(c_.train.threads);
  if (!tokenizer_.eos_id())
    throw Error(
        fmt::format("{}: tokenizer_config.json names no eos_token, so completions could never stop", c_.model.path));
  eos_ids_ = {*tokenizer_.eos_id()};
  if (!c_.rollout.endpoints.empty() && c_.rollout.token_file.empty())
    throw ConfigError("rollout.token_file: remote rollout workers need the file holding their token");
  read_data();
  const auto latest = checkpoint_to_resume(out_, options.resume, "train.output_dir");
  if (latest) check_resumed_config(out_, to_toml(c_), options.override_config);
  load_models(latest, plan_memory());
  if (leader()) {
    std::filesystem::create_directories(out_);
    write_file_durably(out_ / "config.toml", to_toml(c_));
    std::cerr << fmt::format("{} training prompts ({} duplicates dropped), {} held-out problems, device {}{}\n",
                             prompts_->size(), duplicates_dropped_, eval_problems_.size(), device_.str(),
                             dp_ ? fmt::format(", {} data-parallel processes", dp_->world()) : "");
  }
  backend_ = rollout_backend();
  const int staleness = c_.rollout.max_staleness;
  if (staleness > 0 && dp_) sampling_channel_ = dp_->channel("sampling-ahead");
  sampler_ = std::make_unique<StepSampler>(c_, *prompts_, tokenizer_, eos_ids_, rewards_, phrases_, *backend_, rng_,
                                           sampling_channel_ ? sampling_channel_.get() : dp_);
  if (staleness > 0) {
    std::vector<policy::CausalLM> copies;
    for (int i = 0; i < staleness; ++i) {
      copies.push_back(load_model(c_.model.path, c_.model, device_));
      copies.back()->limit_vocabulary(tokenizer_.vocab_size());
    }
    ahead_ = std::make_unique<SamplingAhead>(std::move(copies), *backend_,
                                             [this](int64_t step, int64_t version) { return sample(step, version); });
  }
  // On the CPU the rollout workers and the micro-batch threads keep every core busy, each on its
  // own thread count; this thread's small operations between them (the sums, the batch) run on
  // it alone, so OpenMP's pool never wakes to spin on a core they need. The optimizer's update
  // takes every core again (PolicyOptimizer::apply_update).
  threads_ = at::get_num_threads();
  if (device_.is_cpu() && c_.rollout.endpoints.empty()) kernels::set_threads_of_this_thread(1);
}

void Trainer::read_data() {
  if (c_.data.train.empty()) throw ConfigError("data.train: the training prompts are required");
  auto train_records = datasets::read_prompt_records(c_.data.train, c_.data, &duplicates_dropped_);
  datasets::check_fields_for_rules(train_records, c_.data.train, c_.data, c_.rewards);
  prompts_ =
      std::make_unique<datasets::PromptSource>(std::move(train_records), c_.data, static_cast<uint64_t>(c_.train.seed));
  if (c_.data.eval.empty()) return;
  eval_problems_ = datasets::read_prompt_records(c_.data.eval, c_.data);
  datasets::check_fields_for_rules(eval_problems_, c_.data.eval, c_.data, c_.rewards);
  if (c_.data.eval_limit > 0 && eval_problems_.size() > static_cast<std::size_t>(c_.data.eval_limit))
    eval_problems_.resize(static_cast<std::size_t>(c_.data.eval_limit));
}

int Trainer::plan_memory() {
  if (!device_.is_cpu()) return c_.train.micro_batch_threads;
  RunShape shape = run_shape(c_, tokenizer_.vocab_size(), at::get_num_threads());
  const int64_t available = available_memory_bytes() / (dp_ ? dp_->world() : 1);  // ranks share the machine
  const int threads = plan_micro_batch_threads(shape, c_.train.micro_batch_threads, at::get_num_threads(), available);
  shape.micro_batch_threads = threads;
  if (leader())
    std::cerr << fmt::format("memory: about {} ({} micro-batch thread{})\n", estimate_memory(shape).describe(), threads,
                             threads == 1 ? "" : "s");
  return threads;
}

void Trainer::load_models(const std::optional<std::filesystem::path>& resume_from, int micro_batch_threads) {
  policy_ = load_model(c_.model.path, c_.model, device_);
  policy_->limit_vocabulary(tokenizer_.vocab_size());  // padded embedding rows are never sampled
  policy_->set_activation_checkpointing(c_.train.activation_checkpointing);
  std::optional<policy::CausalLM> reference;
  if (c_.grpo.beta > 0.0) {
    reference = load_model(c_.model.reference.empty() ? c_.model.path : c_.model.reference, c_.model, device_);
    (*reference)->limit_vocabulary(tokenizer_.vocab_size());
  }
  UpdateSettings update;
  update.optim = c_.optim;
  update.total_steps = c_.train.steps;
  update.micro_batch_tokens = c_.train.micro_batch_tokens;
  update.freeze = c_.model.freeze;
  update.router_aux_loss = c_.grpo.router_aux_loss;
  optimizer_ = std::make_unique<PolicyOptimizer>(
      policy_, update, GrpoObjective{c_.grpo, reference, c_.rollout.max_new_tokens, c_.rollout.temperature});
  optimizer_->set_micro_batch_threads(micro_batch_threads);
  if (resume_from) {
    const TrainerState state = load_run_checkpoint(*resume_from, *policy_, optimizer_->optimizer(), rng_);
    start_step_ = state.step;
    prompts_->restore(state.cursor);
    resumed_ahead_ = state.sampled_ahead;
    optimizer_->set_steps_taken(static_cast<int>(state.step));
    if (leader()) std::cerr << fmt::format("resuming from {} at step {}\n", resume_from->string(), start_step_);
  }
  if (dp_) {
    dp_->broadcast_parameters(*policy_);
    optimizer_->set_data_parallel(dp_);
  }
}

std::unique_ptr<rollout::RolloutBackend> Trainer::rollout_backend() {
  rollout::GenerationSettings generation;
  generation.sampling = {c_.rollout.temperature, c_.rollout.top_k, c_.rollout.top_p, c_.rollout.min_p};
  generation.max_new_tokens = c_.rollout.max_new_tokens;
  generation.eos_ids = eos_ids_;
  generation.pad_id = tokenizer_.pad_id().value_or(eos_ids_.front());
  generation.stop = c_.rollout.stop;
  generation.record_routing = true;  // MoE models only; also feeds the routing_mismatch metric
  if (c_.rollout.endpoints.empty()) {
    // The workers share the trainer's threads: each gets its part and runs its products serially
    // when there are as many workers as threads, so no core spins waiting on another.
    const int threads_per_worker = std::max(1, at::get_num_threads() / c_.rollout.workers);
    return std::make_unique<rollout::RolloutPool>(
        *policy_, start_step_, c_.rollout.workers, c_.rollout.queue_size, generation,
        [this](std::span<const int64_t> ids) { return tokenizer_.decode(ids); }, threads_per_worker);
  }
  rollout::RemoteSettings remote;
  for (std::size_t i = 0; i < c_.rollout.endpoints.size(); ++i)  // with data parallelism, every world-th is this rank's
    if (DataParallel::owns(dp_, i)) remote.endpoints.push_back(c_.rollout.endpoints[i]);
  if (remote.endpoints.empty())
    throw ConfigError(fmt::format("rollout.endpoints: {} endpoints for {} data-parallel ranks; each rank needs one",
                                  c_.rollout.endpoints.size(), dp_ ? dp_->world() : 1));
  if (!c_.rollout.weights_folder.empty())  // one subfolder per rank: each rank feeds its own workers
    remote.shared_folder = dp_ ? std::filesystem::path(c_.rollout.weights_folder) / fmt::format("rank-{}", dp_->rank())
                               : std::filesystem::path(c_.rollout.weights_folder);
  remote.reload_route = c_.rollout.weights_route;
  remote.tokenizer_from = c_.model.path;
  remote.token = read_bearer_token(c_.rollout.token_file);
  remote.generation = generation;
  remote.timeout = std::chrono::milliseconds(static_cast<int64_t>(c_.rollout.request_timeout_s * 1000));
  remote.scratch = out_ / fmt::format("published-weights-{}", dp_ ? dp_->rank() : 0);
  return std::make_unique<rollout::RemotePool>(remote, *policy_, start_step_);
}

StepRollouts Trainer::sample(int64_t step, int64_t version) {
  try {
    return sampler_->sample(step, version);
  } catch (const c10::Error& e) {  // e.g. probabilities that are not finite
    throw Error(fmt::format("step {}: sampling failed ({}); the policy's weights may have diverged: {}", step,
                            e.what_without_backtrace(), recovery_hint(out_, c_.model.path)));
  }
}

void Trainer::start_sampling_ahead() {
  std::map<int64_t, StepRollouts> restored =
      sampled_steps_from_json(resumed_ahead_, fmt::format("checkpoint at step {}: sampled_ahead.json", start_step_));
  const int64_t last = std::min<int64_t>(start_step_ + c_.rollout.max_staleness, c_.train.steps);
  for (int64_t step = start_step_ + 1; step <= last; ++step) {
    if (auto found = restored.find(step); found != restored.end()) ahead_->put(step, std::move(found->second));
    else ahead_->launch(step, *policy_, start_step_);
  }
}

std::vector<TrainingSequence> Trainer::training_batch(const std::vector<ScoredCompletion>& kept) const {
  std::vector<double> rewards;
  for (const auto& s : kept) rewards.push_back(s.score.total);
  const std::vector<double> advantages =
      compute_advantages(rewards, c_.rollout.group_size, c_.grpo.advantage, c_.grpo.std_eps);
  std::vector<TrainingSequence> batch;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    TrainingSequence s;
    s.prompt = kept[i].prompt;
    s.completion = kept[i].sample.tokens;
    s.sampling_logprobs = kept[i].sample.logprobs;
    s.routing = kept[i].sample.routing;
    s.advantage = advantages[i];
    s.in_loss = !(c_.grpo.mask_truncated && kept[i].sample.finish == rollout::FinishReason::length);
    batch.push_back(std::move(s));
  }
  return batch;
}

void Trainer::evaluate_into(const std::string& file, records::StepMetrics* metrics) {
  if (eval_problems_.empty() || !leader()) return;
  rollout::GenerationSettings stops;
  stops.eos_ids = eos_ids_;
  stops.pad_id = tokenizer_.pad_id().value_or(eos_ids_.front());
  stops.stop = c_.rollout.stop;
  const EvalSettings settings = eval_settings(c_.eval, c_.rollout.max_new_tokens, stops, c_.data.prompt_template,
                                              static_cast<uint64_t>(c_.train.seed) + 1);
  const kernels::ScopedThreads all_threads(threads_);  // evaluation decodes on this thread
  const nlohmann::json json =
      evaluate_and_report(*policy_, tokenizer_, eval_problems_, settings, phrases_, c_.log.progress);
  if (!file.empty()) write_file_durably(out_ / file, json.dump(1) + "\n");
  if (metrics) add_eval_metrics(*metrics, json);
}

void Trainer::save(int64_t step) {
  if (!leader()) return;
  TrainerState state;
  state.step = step;
  if (ahead_) state.sampled_ahead = sampled_steps_json(ahead_->sampled());  // the sampler's state below follows them
  state.cursor = prompts_->cursor();
  save_run_checkpoint(out_, *policy_, optimizer_->optimizer(), rng_, state, c_.model.path);
}

void Trainer::run() {
  const int64_t steps = c_.train.steps;
  if (start_step_ == 0 && !std::filesystem::exists(out_ / "eval_base.json")) evaluate_into("eval_base.json", nullptr);
  records::LogSection quiet = c_.log;  // the other ranks compute the same numbers and write none of them
  if (!leader()) quiet = {quiet.every, false, false, false, 0};
  records::MetricsLog log(out_, quiet, start_step_, now_seconds());
  records::ProgressBar progress("train", steps, quiet.progress, start_step_);
  if (ahead_) start_sampling_ahead();
  const int64_t staleness = c_.rollout.max_staleness;
  for (int64_t step = start_step_ + 1; step <= steps; ++step) {
    const double began = now_seconds();
    // ---- sample G completions per prompt and score them (or take those sampled ahead) ----
    const StepRollouts rollouts = ahead_ ? ahead_->take(step) : sample(step, step - 1);
    const double waited = now_seconds() - began;
    if (ahead_ && step + staleness <= steps) ahead_->launch(step + staleness, *policy_, step - 1);
    // ---- group-relative advantages, one GRPO optimizer step ----
    const std::vector<TrainingSequence> batch = training_batch(rollouts.kept);
    const double trained_from = now_seconds();
    const StepStats stats = optimizer_->step(batch, rollouts.weight_version < step - 1);
    const double train_seconds = now_seconds() - trained_from;
    if (!std::isfinite(stats.loss) || !std::isfinite(stats.grad_norm))
      throw Error(fmt::format("step {}: the loss is {} (gradient norm {}): {}", step, stats.loss, stats.grad_norm,
                              recovery_hint(out_, c_.model.path)));
    optimizer_->optimizer().zero_grad();  // the gradients' memory is free again while the next batch samples
    // ---- the new weights to the rollout workers (sampling ahead publishes its copies) ----
    if (!ahead_) backend_->publish(*policy_, step);
    // ---- metrics, evaluation, checkpoints ----
    if (leader())
      for (const std::string& line : rules_failing_everywhere(rollouts.all, c_.rewards))
        progress.note(fmt::format("step {}: warning: {}", step, line));
    records::StepMetrics m = step_metrics(step, c_, rollouts, stats, batch, train_seconds);
    m.add("time_sampling_wait_s", waited);
    if (c_.train.eval_every > 0 && step % c_.train.eval_every == 0 && step != steps) evaluate_into("", &m);
    if (step == steps) evaluate_into("eval_final.json", &m);
    m.add("time_step_s", now_seconds() - began);
    m.add("peak_rss_gb", static_cast<double>(peak_resident_bytes()) / 1e9);
    if (step % c_.log.every == 0 || step == steps) log.write(step, m, now_seconds());
    if (quiet.samples_every > 0 && step % quiet.samples_every == 0) {
      const ScoredCompletion& first = rollouts.all.front();
      log.sample(step, prompts_->prompt_text(first.record), first.text, first.score.total, now_seconds());
    }
    if ((c_.train.save_every > 0 && step % c_.train.save_every == 0) || step == steps) save(step);
    if (quiet.jsonl && (m.get("eval/pass@1") || step == steps))
      records::plot_curves(out_ / "metrics.jsonl", out_ / "curves");
    progress.update(step, fmt::format("reward {:.2f} acc {:.2f} len {:.0f} refl {:.2f}", *m.get("reward_mean"),
                                      m.get("accuracy").value_or(0.0), *m.get("completion_length_mean"),
                                      *m.get("reflection_frequency")));
  }
  progress.finish();
  if (!leader()) return;
  policy::save_causal_lm(*policy_, out_ / "final", c_.model.path);
  std::cerr << fmt::format("saved the trained policy to {}; curves in {}\n", (out_ / "final").string(),
                           (out_ / "curves.png").string());
}

}  // namespace

void train(const ExperimentConfig& config, const TrainOptions& options) {
  const auto data_parallel = DataParallel::from_environment(training_device(config.model.device));
  Trainer(config, options, data_parallel.get()).run();
}

}  // namespace aha::rl
