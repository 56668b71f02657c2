// fine_tune(): setup, then for each step: pairs -> optimizer step -> metrics, evaluation, checkpoints.
#include "rl/sft_trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "core/process_memory.hpp"
#include "core/wall_clock.hpp"
#include "datasets/sft_data.hpp"
#include "policy/checkpoint.hpp"
#include "records/metrics_log.hpp"
#include "records/progress_bar.hpp"
#include "rewards/reward_spec.hpp"
#include "rl/evaluation.hpp"
#include "rl/model_loading.hpp"
#include "rl/policy_optimizer.hpp"
#include "rl/run_checkpoint.hpp"

namespace aha::rl {

namespace {

class FineTuner {
 public:
  FineTuner(const SftConfig& config, const SftOptions& options);
  void run();

 private:
  void evaluate_into(const std::string& file, records::StepMetrics* metrics);
  void save(int64_t step);

  const SftConfig c_;
  const std::filesystem::path out_;
  at::Device device_;
  policy::Tokenizer tokenizer_;
  int64_t eos_ = 0;
  datasets::SftPairs data_;
  std::unique_ptr<datasets::PairOrder> order_;
  std::vector<datasets::PromptRecord> eval_problems_;
  policy::CausalLM model_{nullptr};
  std::unique_ptr<PolicyOptimizer> optimizer_;
  at::Generator rng_;  // not drawn from; kept in checkpoints like the GRPO trainer's
  int64_t steps_ = 0, start_step_ = 0;
};

FineTuner::FineTuner(const SftConfig& config, const SftOptions& options)
    : c_(config),
      out_(config.train.output_dir),
      device_(training_device(config.model.device)),
      tokenizer_(policy::Tokenizer::from_file(config.model.path)),
      rng_(at::detail::createCPUGenerator(static_cast<uint64_t>(config.train.seed))) {
  if (c_.train.threads > 0) at::set_num_threads(c_.train.threads);
  if (!tokenizer_.eos_id())
    throw Error(fmt::format("{}: tokenizer_config.json names no eos_token, so the student could not learn to stop",
                            c_.model.path));
  eos_ = *tokenizer_.eos_id();
  data_ = datasets::read_sft_pairs(c_.data.train, c_.data, tokenizer_, eos_, c_.model.path);
  order_ =
      std::make_unique<datasets::PairOrder>(data_.pairs.size(), c_.data.shuffle, static_cast<uint64_t>(c_.train.seed));
  const auto pairs = static_cast<int64_t>(data_.pairs.size());
  steps_ = c_.train.steps > 0
               ? c_.train.steps
               : (static_cast<int64_t>(c_.train.epochs) * pairs + c_.train.batch_size - 1) / c_.train.batch_size;
  if (!c_.data.eval.empty()) {
    datasets::DataSection problems;
    problems.question_key = c_.data.question_key;
    problems.answer_key = c_.data.answer_key;
    problems.dedupe = false;
    eval_problems_ = datasets::read_prompt_records(c_.data.eval, problems);
    if (c_.data.eval_limit > 0 && eval_problems_.size() > static_cast<std::size_t>(c_.data.eval_limit))
      eval_problems_.resize(static_cast<std::size_t>(c_.data.eval_limit));
  }

  const auto latest = checkpoint_to_resume(out_, options.resume, "train.output_dir");
  if (latest) check_resumed_config(out_, to_toml(c_), options.override_config);
  model_ = load_model(c_.model.path, c_.model, device_);
  model_->limit_vocabulary(tokenizer_.vocab_size());
  model_->set_activation_checkpointing(c_.train.activation_checkpointing);
  optimizer_ =
      std::make_unique<PolicyOptimizer>(model_, UpdateSettings{.optim = c_.optim,
                                                               .total_steps = static_cast<int>(steps_),
                                                               .micro_batch_tokens = c_.train.micro_batch_tokens,
                                                               .freeze = c_.model.freeze});
  optimizer_->set_micro_batch_threads(c_.train.micro_batch_threads);
  if (latest) {
    const TrainerState state = load_run_checkpoint(*latest, *model_, optimizer_->optimizer(), rng_);
    start_step_ = state.step;
    order_->restore(state.cursor);
    optimizer_->set_steps_taken(static_cast<int>(state.step));
    std::cerr << fmt::format("resuming from {} at step {}\n", latest->string(), start_step_);
  }
  std::filesystem::create_directories(out_);
  write_file_durably(out_ / "config.toml", to_toml(c_));
  std::cerr << fmt::format("{} pairs ({} longer than data.max_tokens skipped), {} steps of {}, {} held-out problems, "
                           "device {}\n",
                           pairs, data_.too_long, steps_, c_.train.batch_size, eval_problems_.size(), device_.str());
}

void FineTuner::evaluate_into(const std::string& file, records::StepMetrics* metrics) {
  if (eval_problems_.empty()) return;
  rollout::GenerationSettings stops;
  stops.eos_ids = {eos_};
  stops.pad_id = tokenizer_.pad_id().value_or(eos_);
  const EvalSettings settings =
      eval_settings(c_.eval, 512, stops, c_.data.prompt_template, static_cast<uint64_t>(c_.train.seed) + 1);
  const nlohmann::json json = evaluate_and_report(*model_, tokenizer_, eval_problems_, settings,
                                                  rewards::ReflectionPhrases(rewards::default_reflection_phrases()),
                                                  c_.log.progress);
  if (!file.empty()) write_file_durably(out_ / file, json.dump(1) + "\n");
  if (metrics) add_eval_metrics(*metrics, json);
}

void FineTuner::save(int64_t step) {
  TrainerState state;
  state.step = step;
  state.cursor = order_->cursor();
  save_run_checkpoint(out_, *model_, optimizer_->optimizer(), rng_, state, c_.model.path);
}

void FineTuner::run() {
  if (start_step_ == 0 && !std::filesystem::exists(out_ / "eval_base.json")) evaluate_into("eval_base.json", nullptr);
  records::MetricsLog log(out_, c_.log, start_step_, now_seconds());
  records::ProgressBar progress("sft", steps_, c_.log.progress, start_step_);
  for (int64_t step = start_step_ + 1; step <= steps_; ++step) {
    const double began = now_seconds();
    std::vector<TrainingSequence> batch;
    int64_t tokens = 0, completion_tokens = 0;
    for (const std::size_t i : order_->next(static_cast<std::size_t>(c_.train.batch_size))) {
      TrainingSequence s;
      s.prompt = data_.pairs[i].prompt;
      s.completion = data_.pairs[i].completion;
      batch.push_back(std::move(s));
      tokens += static_cast<int64_t>(batch.back().prompt.size() + batch.back().completion.size());
      completion_tokens += static_cast<int64_t>(batch.back().completion.size());
    }
    // Longest first: rows of similar length share micro-batches, so little padding is computed.
    // The loss is a mean over the whole step, so the order does not change it.
    std::stable_sort(batch.begin(), batch.end(), [](const TrainingSequence& a, const TrainingSequence& b) {
      return a.prompt.size() + a.completion.size() > b.prompt.size() + b.completion.size();
    });
    const StepStats stats = optimizer_->sft_step(batch);
    const double train_seconds = now_seconds() - began;
    if (!std::isfinite(stats.loss) || !std::isfinite(stats.grad_norm))
      throw Error(fmt::format("step {}: the loss is {} (gradient norm {}): {}", step, stats.loss, stats.grad_norm,
                              recovery_hint(out_, c_.model.path)));
    records::StepMetrics m;
    m.add("loss", stats.loss);
    m.add("grad_norm", stats.grad_norm);
    m.add("learning_rate", stats.learning_rate);
    m.add("epoch", order_->epochs_done());
    m.add("completion_tokens", static_cast<double>(completion_tokens));
    m.add("train_tokens_per_s", static_cast<double>(tokens) / train_seconds);
    m.add("time_train_s", train_seconds);
    if (c_.train.eval_every > 0 && step % c_.train.eval_every == 0 && step != steps_) evaluate_into("", &m);
    if (step == steps_) evaluate_into("eval_final.json", &m);
    m.add("time_step_s", now_seconds() - began);
    m.add("peak_rss_gb", static_cast<double>(peak_resident_bytes()) / 1e9);
    if (step % c_.log.every == 0 || step == steps_) log.write(step, m, now_seconds());
    if ((c_.train.save_every > 0 && step % c_.train.save_every == 0) || step == steps_) save(step);
    progress.update(step, fmt::format("loss {:.3f} epoch {:.2f}", stats.loss, order_->epochs_done()));
  }
  progress.finish();
  policy::save_causal_lm(*model_, out_ / "final", c_.model.path);
  std::cerr << fmt::format("saved the fine-tuned model to {}\n", (out_ / "final").string());
}

}  // namespace

void fine_tune(const SftConfig& config, const SftOptions& options) { FineTuner(config, options).run(); }

}  // namespace aha::rl
