// train(): setup, then for each step: rollouts -> rewards -> advantages -> optimizer step ->
// weights to the workers -> metrics, evaluation and checkpoints.
#include "rl/grpo_trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <mutex>

#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "core/process_memory.hpp"
#include "kernels/cpu_threads.hpp"
#include "policy/checkpoint.hpp"
#include "policy/tokenizer.hpp"
#include "rewards/reward_json.hpp"
#include "rl/advantages.hpp"
#include "rl/curve_plot.hpp"
#include "rl/data_parallel.hpp"
#include "rl/evaluation.hpp"
#include "rl/memory_plan.hpp"
#include "rl/metrics_log.hpp"
#include "rl/model_loading.hpp"
#include "rl/policy_optimizer.hpp"
#include "rl/progress_bar.hpp"
#include "rl/run_checkpoint.hpp"
#include "rl/scored_completion.hpp"
#include "rollout/completion_wire.hpp"
#include "rollout/http_client.hpp"
#include "rollout/remote_pool.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rl {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

uint64_t draw_seed(at::Generator& rng) {
  auto* cpu = at::check_generator<at::CPUGeneratorImpl>(rng);
  std::lock_guard lock(cpu->mutex_);
  return cpu->random64();
}

// Everything one step sampled: the groups kept for training and every completion drawn.
struct StepRollouts {
  std::vector<ScoredCompletion> kept;  // whole groups, in the order they were drawn
  std::vector<ScoredCompletion> all;   // every completion sampled this step (for the metrics)
  int64_t groups = 0, zero_std_groups = 0, rounds = 0, generated_tokens = 0, prompts_skipped = 0;
  double rollout_seconds = 0.0, reward_seconds = 0.0;
};

bool rewards_all_equal(std::span<const ScoredCompletion> group) {
  for (const auto& s : group)
    if (s.score.total != group.front().score.total) return false;
  return true;
}

class Trainer {
 public:
  Trainer(const ExperimentConfig& config, const TrainOptions& options, DataParallel* data_parallel);
  void run();

 private:
  StepRollouts sample_step(int64_t step);
  std::vector<TrainingSequence> training_batch(const std::vector<ScoredCompletion>& kept) const;
  void evaluate_into(const std::string& file, StepMetrics* metrics);
  void save(int64_t step);
  // Every job's completions on every rank: each rank sampled the jobs it owns.
  std::vector<std::vector<rollout::Completion>> gather(std::vector<std::vector<rollout::Completion>> by_job,
                                                       const std::vector<bool>& mine) const;
  bool leader() const { return !dp_ || dp_->rank() == 0; }  // writes logs, evaluations and checkpoints
  // The reward pipeline over `inputs`; with data parallelism each rank scores every world-th
  // input and the scores are gathered, so sandboxed programs run once.
  std::vector<rewards::ScoreRecord> score(const std::vector<rewards::CompletionRecord>& inputs) const;

  const ExperimentConfig c_;
  const std::filesystem::path out_;
  at::Device device_;
  policy::Tokenizer tokenizer_;
  policy::CausalLM policy_{nullptr};
  std::vector<int64_t> eos_ids_;
  std::unique_ptr<PromptSource> prompts_;
  std::vector<PromptRecord> eval_problems_;
  rewards::RewardPipeline rewards_;
  rewards::ReflectionPhrases phrases_;
  std::unique_ptr<PolicyOptimizer> optimizer_;
  at::Generator rng_;
  int64_t start_step_ = 0;
  int threads_ = 1;  // the run's CPU threads (this thread keeps one of them between phases)
  std::unique_ptr<rollout::RolloutBackend> pool_;
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
    throw Error(fmt::format("{}: tokenizer_config.json names no eos_token, so completions could never stop",
                            c_.model.path));
  eos_ids_ = {*tokenizer_.eos_id()};
  if (c_.data.train.empty()) throw ConfigError("data.train: the training prompts are required");
  if (!c_.rollout.endpoints.empty() && c_.rollout.token_file.empty())
    throw ConfigError("rollout.token_file: remote rollout workers need the file holding their token");
  const std::string token = c_.rollout.endpoints.empty() ? "" : rollout::read_bearer_token(c_.rollout.token_file);
  std::size_t duplicates = 0;
  auto train_records = read_prompt_records(c_.data.train, c_.data, &duplicates);
  check_fields_for_rules(train_records, c_.data.train, c_.data, c_.rewards);
  prompts_ = std::make_unique<PromptSource>(std::move(train_records), c_.data, static_cast<uint64_t>(c_.train.seed));
  if (!c_.data.eval.empty()) {
    eval_problems_ = read_prompt_records(c_.data.eval, c_.data);
    check_fields_for_rules(eval_problems_, c_.data.eval, c_.data, c_.rewards);
    if (c_.data.eval_limit > 0 && eval_problems_.size() > static_cast<std::size_t>(c_.data.eval_limit))
      eval_problems_.resize(static_cast<std::size_t>(c_.data.eval_limit));
  }

  const auto latest = checkpoint_to_resume(out_, options.resume, "train.output_dir");
  if (latest) check_resumed_config(out_, to_toml(c_), options.override_config);
  int micro_batch_threads = c_.train.micro_batch_threads;
  if (device_.is_cpu()) {  // ranks on one machine share its memory
    RunShape shape = run_shape(c_, tokenizer_.vocab_size(), at::get_num_threads());
    const int64_t available = available_memory_bytes() / (dp_ ? dp_->world() : 1);
    micro_batch_threads = plan_micro_batch_threads(shape, micro_batch_threads, at::get_num_threads(), available);
    shape.micro_batch_threads = micro_batch_threads;
    if (leader())
      std::cerr << fmt::format("memory: about {} ({} micro-batch thread{})\n", estimate_memory(shape).describe(),
                               micro_batch_threads, micro_batch_threads == 1 ? "" : "s");
  }
  policy_ = load_model(c_.model.path, c_.model, device_);
  policy_->limit_vocabulary(tokenizer_.vocab_size());  // padded embedding rows are never sampled
  policy_->set_activation_checkpointing(c_.train.activation_checkpointing);
  std::optional<policy::CausalLM> reference;
  if (c_.grpo.beta > 0.0) {
    reference = load_model(c_.model.reference.empty() ? c_.model.path : c_.model.reference, c_.model, device_);
    (*reference)->limit_vocabulary(tokenizer_.vocab_size());
  }
  optimizer_ = std::make_unique<PolicyOptimizer>(policy_, reference, c_.grpo, c_.optim, c_.train.steps,
                                                 c_.rollout.max_new_tokens, c_.rollout.temperature,
                                                 c_.train.micro_batch_tokens, c_.model.freeze);
  optimizer_->set_micro_batch_threads(micro_batch_threads);
  if (latest) {
    const TrainerState state = load_run_checkpoint(*latest, *policy_, optimizer_->optimizer(), rng_);
    start_step_ = state.step;
    prompts_->restore(state.cursor);
    optimizer_->set_steps_taken(static_cast<int>(state.step));
    if (leader()) std::cerr << fmt::format("resuming from {} at step {}\n", latest->string(), start_step_);
  }
  if (dp_) {
    dp_->broadcast_parameters(*policy_);
    optimizer_->set_data_parallel(dp_);
  }
  if (leader()) {
    std::filesystem::create_directories(out_);
    write_file_durably(out_ / "config.toml", to_toml(c_));
    std::cerr << fmt::format("{} training prompts ({} duplicates dropped), {} held-out problems, device {}{}\n",
                             prompts_->size(), duplicates, eval_problems_.size(), device_.str(),
                             dp_ ? fmt::format(", {} data-parallel processes", dp_->world()) : "");
  }

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
    pool_ = std::make_unique<rollout::RolloutPool>(
        *policy_, start_step_, c_.rollout.workers, c_.rollout.queue_size, generation,
        [this](std::span<const int64_t> ids) { return tokenizer_.decode(ids); }, threads_per_worker);
  } else {
    rollout::RemoteSettings remote;
    for (std::size_t i = 0; i < c_.rollout.endpoints.size(); ++i)  // with data parallelism, every world-th is this rank's
      if (!dp_ || static_cast<int>(i % dp_->world()) == dp_->rank()) remote.endpoints.push_back(c_.rollout.endpoints[i]);
    if (remote.endpoints.empty())
      throw ConfigError(fmt::format("rollout.endpoints: {} endpoints for {} data-parallel ranks; each rank needs one",
                                    c_.rollout.endpoints.size(), dp_ ? dp_->world() : 1));
    if (!c_.rollout.weights_folder.empty())  // one subfolder per rank: each rank feeds its own workers
      remote.shared_folder = dp_ ? std::filesystem::path(c_.rollout.weights_folder) / fmt::format("rank-{}", dp_->rank())
                                 : std::filesystem::path(c_.rollout.weights_folder);
    remote.reload_route = c_.rollout.weights_route;
    remote.tokenizer_from = c_.model.path;
    remote.token = token;
    remote.generation = generation;
    remote.timeout = std::chrono::milliseconds(static_cast<int64_t>(c_.rollout.request_timeout_s * 1000));
    remote.scratch = out_ / fmt::format("published-weights-{}", dp_ ? dp_->rank() : 0);
    pool_ = std::make_unique<rollout::RemotePool>(remote, *policy_, start_step_);
  }
  // On the CPU the rollout workers and the micro-batch threads keep every core busy, each on its
  // own thread count; this thread's small operations between them (the sums, the batch) run on
  // it alone, so OpenMP's pool never wakes to spin on a core they need. The optimizer's update
  // takes every core again (PolicyOptimizer::apply_update).
  threads_ = at::get_num_threads();
  if (device_.is_cpu() && c_.rollout.endpoints.empty()) kernels::set_threads_of_this_thread(1);
}

StepRollouts Trainer::sample_step(int64_t step) {
  StepRollouts out;
  const int group = c_.rollout.group_size;
  const int rounds = c_.grpo.dynamic_sampling ? 1 + c_.grpo.max_resample_rounds : 1;
  int64_t kept_groups = 0;
  std::vector<ScoredCompletion> flat_groups;  // dropped by dynamic sampling, in the order drawn
  for (int round = 0; round < rounds && kept_groups < c_.rollout.prompts_per_step; ++round) {
    ++out.rounds;
    // Prompts longer than data.max_prompt_tokens are skipped, counted, and replaced by the next.
    std::vector<std::size_t> records;
    std::vector<std::vector<int64_t>> prompts;
    std::size_t skipped_in_a_row = 0;
    while (records.size() < static_cast<std::size_t>(c_.rollout.prompts_per_step - kept_groups)) {
      const std::size_t r = prompts_->next(1).front();
      auto tokens = tokenizer_.encode(prompts_->prompt_text(r));
      if (tokens.size() > static_cast<std::size_t>(c_.data.max_prompt_tokens)) {
        ++out.prompts_skipped;
        if (++skipped_in_a_row > prompts_->size())
          throw Error(fmt::format("every prompt of {} is longer than data.max_prompt_tokens = {}: raise it",
                                  c_.data.train, c_.data.max_prompt_tokens));
        continue;
      }
      skipped_in_a_row = 0;
      records.push_back(r);
      prompts.push_back(std::move(tokens));
    }
    // One job per worker (of every process), each with its own seed drawn in order, so results do
    // not depend on timing or on which worker ran a job.
    const std::size_t all_workers = c_.rollout.endpoints.empty()
                                        ? static_cast<std::size_t>(c_.rollout.workers) * (dp_ ? dp_->world() : 1)
                                        : c_.rollout.endpoints.size();
    const std::size_t workers = std::min<std::size_t>(all_workers, prompts.size());
    const std::size_t per_job = (prompts.size() + workers - 1) / workers;
    std::vector<rollout::RolloutJob> jobs;
    for (std::size_t first = 0; first < prompts.size(); first += per_job) {
      rollout::RolloutJob job;
      job.id = static_cast<int64_t>(jobs.size());
      job.prompts.assign(prompts.begin() + static_cast<std::ptrdiff_t>(first),
                         prompts.begin() + static_cast<std::ptrdiff_t>(std::min(prompts.size(), first + per_job)));
      job.group_size = group;
      job.seed = draw_seed(rng_);
      jobs.push_back(job);
    }
    const double began = now_seconds();
    std::vector<bool> mine(jobs.size());
    for (std::size_t j = 0; j < jobs.size(); ++j) mine[j] = !dp_ || static_cast<int>(j % dp_->world()) == dp_->rank();
    for (std::size_t j = 0; j < jobs.size(); ++j)
      if (mine[j]) pool_->submit(jobs[j]);
    std::vector<std::vector<rollout::Completion>> by_job(jobs.size());
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      if (!mine[j]) continue;
      rollout::RolloutResult result = pool_->take();
      if (result.weight_version != step - 1)
        throw Error(fmt::format("step {}: a rollout came back from weight version {}, expected {}", step,
                                result.weight_version, step - 1));
      by_job[static_cast<std::size_t>(result.id)] = std::move(result.completions);
    }
    if (dp_) by_job = gather(std::move(by_job), mine);
    std::vector<rollout::Completion> samples;
    for (auto& completions : by_job)
      for (auto& c : completions) {
        out.generated_tokens += static_cast<int64_t>(c.tokens.size());
        samples.push_back(std::move(c));
      }
    const double sampled = now_seconds();
    out.rollout_seconds += sampled - began;
    auto scored = score_completions(std::move(samples), records, prompts, group, *prompts_, tokenizer_, eos_ids_,
                                    [this](const auto& inputs) { return score(inputs); }, phrases_);
    out.reward_seconds += now_seconds() - sampled;

    for (std::size_t g = 0; g < records.size(); ++g) {
      const std::span<const ScoredCompletion> members(scored.data() + g * group, static_cast<std::size_t>(group));
      int64_t correct = 0;
      for (const auto& s : members) correct += s.correct.value_or(false);
      prompts_->record_pass_rate(records[g], static_cast<double>(correct) / group);
      const bool flat = rewards_all_equal(members);
      ++out.groups;
      out.zero_std_groups += flat;
      auto& into = c_.grpo.dynamic_sampling && flat ? flat_groups : out.kept;
      into.insert(into.end(), members.begin(), members.end());
      kept_groups += &into == &out.kept;
    }
    out.all.insert(out.all.end(), std::make_move_iterator(scored.begin()), std::make_move_iterator(scored.end()));
  }
  // Out of rounds: fill the step with groups that carry no signal (zero advantage), so every step
  // trains on prompts_per_step groups.
  const std::size_t missing = static_cast<std::size_t>(c_.rollout.prompts_per_step - kept_groups) * group;
  out.kept.insert(out.kept.end(), flat_groups.begin(),
                  flat_groups.begin() + static_cast<std::ptrdiff_t>(std::min(missing, flat_groups.size())));
  return out;
}

std::vector<std::vector<rollout::Completion>> Trainer::gather(std::vector<std::vector<rollout::Completion>> by_job,
                                                                const std::vector<bool>& mine) const {
  nlohmann::json owned = nlohmann::json::object();
  for (std::size_t j = 0; j < by_job.size(); ++j) {
    if (!mine[j]) continue;
    rollout::CompletionResponse response;
    for (const auto& c : by_job[j]) response.choices.push_back(rollout::to_choice(c, ""));
    owned[std::to_string(j)] = rollout::to_json(response, "", 0);
  }
  for (const std::string& part : dp_->all_gather(owned.dump())) {
    const auto gathered = nlohmann::json::parse(part);
    for (const auto& [job, response] : gathered.items()) {
      auto& into = by_job[std::stoul(job)];
      if (!into.empty()) continue;
      for (auto& choice : rollout::parse_completion_response(response.dump()).choices)
        into.push_back(rollout::to_completion(std::move(choice)));
    }
  }
  return by_job;
}

std::vector<rewards::ScoreRecord> Trainer::score(const std::vector<rewards::CompletionRecord>& inputs) const {
  if (!dp_) return rewards_.score_batch(inputs);
  const auto world = static_cast<std::size_t>(dp_->world()), rank = static_cast<std::size_t>(dp_->rank());
  std::vector<rewards::CompletionRecord> mine;
  for (std::size_t i = rank; i < inputs.size(); i += world) mine.push_back(inputs[i]);
  nlohmann::ordered_json scores = nlohmann::ordered_json::array();
  for (const auto& s : rewards_.score_batch(mine)) scores.push_back(rewards::score_to_json(s));
  std::vector<rewards::ScoreRecord> out(inputs.size());
  const auto parts = dp_->all_gather(scores.dump());
  for (std::size_t r = 0; r < parts.size(); ++r) {
    const auto part = nlohmann::ordered_json::parse(parts[r]);
    for (std::size_t k = 0; k < part.size(); ++k) out[r + k * world] = rewards::score_from_json(part[k]);
  }
  return out;
}

std::vector<TrainingSequence> Trainer::training_batch(const std::vector<ScoredCompletion>& kept) const {
  std::vector<double> rewards;
  for (const auto& s : kept) rewards.push_back(s.score.total);
  const Advantages advantages =
      compute_advantages(rewards, c_.rollout.group_size, c_.grpo.advantage, c_.grpo.std_eps);
  std::vector<TrainingSequence> batch;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    TrainingSequence s;
    s.prompt = kept[i].prompt;
    s.completion = kept[i].sample.tokens;
    s.sampling_logprobs = kept[i].sample.logprobs;
    s.routing = kept[i].sample.routing;
    s.advantage = advantages.values[i];
    s.in_loss = !(c_.grpo.mask_truncated && kept[i].sample.finish == rollout::FinishReason::length);
    batch.push_back(std::move(s));
  }
  return batch;
}

void Trainer::evaluate_into(const std::string& file, StepMetrics* metrics) {
  if (eval_problems_.empty() || !leader()) return;
  rollout::GenerationSettings stops;
  stops.eos_ids = eos_ids_;
  stops.pad_id = tokenizer_.pad_id().value_or(eos_ids_.front());
  stops.stop = c_.rollout.stop;
  const EvalSettings settings = eval_settings(c_.eval, c_.rollout.max_new_tokens, stops, c_.data.prompt_template,
                                              static_cast<uint64_t>(c_.train.seed) + 1);
  const kernels::ScopedThreads all_threads(threads_);  // evaluation decodes on this thread
  const nlohmann::json json = evaluate_and_report(*policy_, tokenizer_, eval_problems_, settings, phrases_,
                                                  c_.log.progress);
  if (!file.empty()) write_file_durably(out_ / file, json.dump(1) + "\n");
  if (metrics) add_eval_metrics(*metrics, json);
}

void Trainer::save(int64_t step) {
  if (!leader()) return;
  TrainerState state;
  state.step = step;
  state.cursor = prompts_->cursor();
  save_run_checkpoint(out_, *policy_, optimizer_->optimizer(), rng_, state, c_.model.path);
}

void Trainer::run() {
  const int64_t steps = c_.train.steps;
  if (start_step_ == 0 && !std::filesystem::exists(out_ / "eval_base.json")) evaluate_into("eval_base.json", nullptr);
  LogSection quiet = c_.log;  // the other ranks compute the same numbers and write none of them
  if (!leader()) quiet = {quiet.every, false, false, false, 0, quiet.level};
  MetricsLog log(out_, quiet, start_step_, now_seconds());
  ProgressBar progress("train", steps, quiet.progress, start_step_);
  for (int64_t step = start_step_ + 1; step <= steps; ++step) {
    const double began = now_seconds();
    StepRollouts rollouts;
    try {
      rollouts = sample_step(step);
    } catch (const c10::Error& e) {  // e.g. probabilities that are not finite
      throw Error(fmt::format("step {}: sampling failed ({}); the policy's weights may have diverged: {}", step,
                              e.what_without_backtrace(), recovery_hint(out_, c_.model.path)));
    }
    const std::vector<TrainingSequence> batch = training_batch(rollouts.kept);
    const double trained_from = now_seconds();
    const StepStats stats = optimizer_->step(batch);
    const double train_seconds = now_seconds() - trained_from;
    if (!std::isfinite(stats.loss) || !std::isfinite(stats.grad_norm))
      throw Error(fmt::format("step {}: the loss is {} (gradient norm {}): {}", step, stats.loss, stats.grad_norm,
                              recovery_hint(out_, c_.model.path)));
    optimizer_->optimizer().zero_grad();  // the gradients' memory is free again while the next batch samples
    pool_->publish(*policy_, step);

    if (leader())
      for (const std::string& line : rules_failing_everywhere(rollouts.all, c_.rewards))
        progress.note(fmt::format("step {}: warning: {}", step, line));
    StepMetrics m;
    add_rollout_metrics(m, rollouts.all, c_.rewards);
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
    m.add("groups_trained", static_cast<double>(rollouts.kept.size() / static_cast<std::size_t>(c_.rollout.group_size)));
    m.add("sampling_rounds", static_cast<double>(rollouts.rounds));
    m.add("prompts_skipped", static_cast<double>(rollouts.prompts_skipped));
    int64_t trained_tokens = 0;
    for (const auto& s : batch) trained_tokens += static_cast<int64_t>(s.prompt.size() + s.completion.size());
    m.add("rollout_tokens_per_s", static_cast<double>(rollouts.generated_tokens) / rollouts.rollout_seconds);
    m.add("train_tokens_per_s", static_cast<double>(trained_tokens) / train_seconds);
    m.add("time_rollout_s", rollouts.rollout_seconds);
    m.add("time_reward_s", rollouts.reward_seconds);
    m.add("time_train_s", train_seconds);
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
    if (quiet.jsonl && (m.get("eval/pass@1") || step == steps)) plot_curves(out_ / "metrics.jsonl", out_ / "curves");
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
