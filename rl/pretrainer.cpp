// pretrain(): data, model, then steps of batch_size traces in a seeded shuffled order.
#include "rl/pretrainer.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "core/wall_clock.hpp"
#include "datasets/prompt_source.hpp"
#include "datasets/synthetic_arithmetic.hpp"
#include "kernels/batch_invariant.hpp"
#include "policy/checkpoint.hpp"
#include "policy/model_init.hpp"
#include "policy/tokenizer.hpp"
#include "records/metrics_log.hpp"
#include "records/progress_bar.hpp"
#include "rl/policy_optimizer.hpp"

namespace aha::rl {

namespace {

void write_problems(const std::filesystem::path& path, const std::vector<datasets::ArithmeticProblem>& problems) {
  std::string text;
  for (const auto& p : problems)
    text += nlohmann::json{{"question", p.question}, {"answer", std::to_string(p.answer)}}.dump() + "\n";
  write_file_durably(path, text);
}

// Each problem's prompt and its trace (ending in end-of-sequence) as one training sequence.
std::vector<TrainingSequence> traces(const policy::Tokenizer& tokenizer,
                                     const std::vector<datasets::ArithmeticProblem>& problems, int64_t eos) {
  std::vector<TrainingSequence> out;
  for (const auto& p : problems) {
    TrainingSequence s;
    s.prompt = tokenizer.encode(datasets::apply_template("r1_zero", p.question));
    s.completion = tokenizer.encode(" " + p.trace);
    s.completion.push_back(eos);
    out.push_back(std::move(s));
  }
  return out;
}

// The training problems; both sets are written to data.output.
std::vector<datasets::ArithmeticProblem> make_problems(const PretrainDataSection& data) {
  const datasets::TraceMix mix{data.slip, data.reflect};
  const auto train = datasets::make_arithmetic_problems(static_cast<uint64_t>(data.seed), data.train_problems, mix);
  const auto eval =
      datasets::make_held_out_problems(static_cast<uint64_t>(data.seed) + 1000003, data.eval_problems, mix, train);
  std::filesystem::create_directories(data.output);
  write_problems(std::filesystem::path(data.output) / "train.jsonl", train);
  write_problems(std::filesystem::path(data.output) / "eval.jsonl", eval);
  return train;
}

policy::CausalLM random_model(const PretrainConfig& c, const policy::Tokenizer& tokenizer, int64_t eos) {
  at::manual_seed(c.train.seed);
  const int64_t pad = tokenizer.pad_id().value_or(eos);
  policy::CausalLM model = policy::init_causal_lm(architecture_json(c.model, tokenizer.vocab_size(), eos, pad),
                                                  static_cast<uint64_t>(c.train.seed));
  model->set_activation_checkpointing(c.train.activation_checkpointing);
  return model;
}

// Batches of sequences in a seeded order, reshuffled at each pass over the data.
class ShuffledBatches {
 public:
  ShuffledBatches(std::vector<TrainingSequence> all, uint64_t seed)
      : all_(std::move(all)), order_(all_.size()), rng_(seed), cursor_(all_.size()) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
  }
  std::vector<TrainingSequence> next(int size) {
    std::vector<TrainingSequence> batch;
    for (int i = 0; i < size; ++i) {
      if (cursor_ == order_.size()) {
        std::shuffle(order_.begin(), order_.end(), rng_);
        cursor_ = 0;
      }
      batch.push_back(all_[order_[cursor_++]]);
    }
    return batch;
  }

 private:
  std::vector<TrainingSequence> all_;
  std::vector<std::size_t> order_;
  std::mt19937_64 rng_;
  std::size_t cursor_;
};

}  // namespace

void pretrain(const PretrainConfig& c) {
  if (c.train.threads > 0) at::set_num_threads(c.train.threads);
  kernels::set_batch_invariant(false);  // pretraining samples nothing: ATen's fused kernels
  const auto tokenizer = policy::Tokenizer::from_file(c.model.tokenizer);
  if (!tokenizer.eos_id())
    throw Error(fmt::format("{}: tokenizer_config.json must name an eos_token", c.model.tokenizer));
  const int64_t eos = *tokenizer.eos_id();
  const std::vector<datasets::ArithmeticProblem> problems = make_problems(c.data);
  policy::CausalLM model = random_model(c, tokenizer, eos);
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  std::cerr << fmt::format("pretraining a {} of {:.2f}M parameters on {} traces ({} threads)\n",
                           c.model.architecture == BaseArchitecture::qwen2 ? "dense qwen2" : "qwen2_moe",
                           static_cast<double>(parameters) / 1e6, problems.size(), at::get_num_threads());
  UpdateSettings update;
  update.optim = c.optim;
  update.total_steps = c.train.steps;
  update.micro_batch_tokens = c.train.micro_batch_tokens;
  update.router_aux_loss = c.model.architecture == BaseArchitecture::qwen2_moe && c.model.router_aux_loss_coef > 0.0;
  PolicyOptimizer optimizer(model, update);
  optimizer.set_micro_batch_threads(c.train.micro_batch_threads);
  ShuffledBatches batches(traces(tokenizer, problems, eos), static_cast<uint64_t>(c.train.seed));

  const auto output = std::filesystem::path(c.model.output);
  records::MetricsLog log(output.parent_path() / "pretrain_logs", c.log, 0, now_seconds());
  records::ProgressBar progress("pretrain", c.train.steps, c.log.progress);
  for (int step = 1; step <= c.train.steps; ++step) {
    const StepStats stats = optimizer.sft_step(batches.next(c.train.batch_size));
    records::StepMetrics metrics;
    metrics.add("loss", stats.loss);
    metrics.add("grad_norm", stats.grad_norm);
    metrics.add("learning_rate", stats.learning_rate);
    if (step % c.log.every == 0 || step == c.train.steps) log.write(step, metrics, now_seconds());
    progress.update(step, fmt::format("loss {:.3f}", stats.loss));
  }
  progress.finish();
  policy::save_causal_lm(*model, output, c.model.tokenizer);
  std::cerr << fmt::format("saved the base model to {}\n", output.string());
}

}  // namespace aha::rl
