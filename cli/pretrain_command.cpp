// `aha pretrain CONFIG [--set section.key=value ...]`: generates the synthetic arithmetic problems,
// trains a small MoE base model on their R1-Zero traces, and saves it with its tokenizer.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.hpp"
#include "core/wall_clock.hpp"
#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "kernels/batch_invariant.hpp"
#include "policy/checkpoint.hpp"
#include "policy/model_init.hpp"
#include "policy/tokenizer.hpp"
#include "rl/metrics_log.hpp"
#include "rl/policy_optimizer.hpp"
#include "rl/pretrain_config.hpp"
#include "rl/progress_bar.hpp"
#include "rl/prompt_source.hpp"
#include "rl/synthetic_arithmetic.hpp"

namespace aha::cli {

namespace {

struct PretrainOptions {
  std::string file;
  std::vector<std::string> overrides;
};

void write_problems(const std::filesystem::path& path, const std::vector<rl::ArithmeticProblem>& problems) {
  std::string text;
  for (const auto& p : problems)
    text += nlohmann::json{{"question", p.question}, {"answer", std::to_string(p.answer)}}.dump() + "\n";
  write_file_durably(path, text);
}

std::vector<rl::TrainingSequence> sequences(const policy::Tokenizer& tokenizer, const std::vector<rl::ArithmeticProblem>& problems,
                                            int64_t eos) {
  std::vector<rl::TrainingSequence> out;
  for (const auto& p : problems) {
    rl::TrainingSequence s;
    s.prompt = tokenizer.encode(rl::apply_template("r1_zero", p.question));
    s.completion = tokenizer.encode(" " + p.trace);
    s.completion.push_back(eos);
    out.push_back(std::move(s));
  }
  return out;
}

int run_pretrain(const PretrainOptions& options) {
  const rl::PretrainConfig c = rl::load_pretrain_config(options.file, options.overrides);
  if (c.train.threads > 0) at::set_num_threads(c.train.threads);
  kernels::set_batch_invariant(false);  // pretraining samples nothing: ATen's fused kernels
  const auto tokenizer = policy::Tokenizer::from_file(c.model.tokenizer);
  if (!tokenizer.eos_id())
    throw Error(fmt::format("{}: tokenizer_config.json must name an eos_token", c.model.tokenizer));
  const int64_t eos = *tokenizer.eos_id(), pad = tokenizer.pad_id().value_or(eos);

  const rl::TraceMix mix{c.data.slip, c.data.reflect};
  const auto train = rl::make_arithmetic_problems(static_cast<uint64_t>(c.data.seed), c.data.train_problems, mix);
  const auto eval = rl::make_held_out_problems(static_cast<uint64_t>(c.data.seed) + 1000003, c.data.eval_problems, mix, train);
  std::filesystem::create_directories(c.data.output);
  write_problems(std::filesystem::path(c.data.output) / "train.jsonl", train);
  write_problems(std::filesystem::path(c.data.output) / "eval.jsonl", eval);

  at::manual_seed(c.train.seed);
  policy::CausalLM model = policy::init_causal_lm(rl::architecture_json(c.model, tokenizer.vocab_size(), eos, pad),
                                                  static_cast<uint64_t>(c.train.seed));
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  std::cerr << fmt::format("pretraining a {} of {:.2f}M parameters on {} traces ({} threads)\n",
                           c.model.architecture == rl::BaseArchitecture::qwen2 ? "dense qwen2" : "qwen2_moe",
                           static_cast<double>(parameters) / 1e6, train.size(), at::get_num_threads());

  rl::UpdateSettings update;
  update.optim = c.optim;
  update.total_steps = c.train.steps;
  update.micro_batch_tokens = c.train.micro_batch_tokens;
  update.router_aux_loss = c.model.architecture == rl::BaseArchitecture::qwen2_moe && c.model.router_aux_loss_coef > 0.0;
  rl::PolicyOptimizer optimizer(model, update);
  optimizer.set_micro_batch_threads(c.train.micro_batch_threads);
  model->set_activation_checkpointing(c.train.activation_checkpointing);
  const auto all = sequences(tokenizer, train, eos);
  std::vector<std::size_t> order(all.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(static_cast<uint64_t>(c.train.seed));
  std::size_t cursor = order.size();

  const auto output = std::filesystem::path(c.model.output);
  rl::MetricsLog log(output.parent_path() / "pretrain_logs", c.log, 0, now_seconds());
  rl::ProgressBar progress("pretrain", c.train.steps, c.log.progress);
  for (int step = 1; step <= c.train.steps; ++step) {
    std::vector<rl::TrainingSequence> batch;
    for (int i = 0; i < c.train.batch_size; ++i) {
      if (cursor == order.size()) {
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
      }
      batch.push_back(all[order[cursor++]]);
    }
    const rl::StepStats stats = optimizer.sft_step(batch);
    rl::StepMetrics metrics;
    metrics.add("loss", stats.loss);
    metrics.add("grad_norm", stats.grad_norm);
    metrics.add("learning_rate", stats.learning_rate);
    if (step % c.log.every == 0 || step == c.train.steps) log.write(step, metrics, now_seconds());
    progress.update(step, fmt::format("loss {:.3f}", stats.loss));
  }
  progress.finish();
  policy::save_causal_lm(*model, output, c.model.tokenizer);
  std::cerr << fmt::format("saved the base model to {}\n", output.string());
  return 0;
}

}  // namespace

void add_pretrain_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<PretrainOptions>();
  auto* cmd = app.add_subcommand("pretrain", "Train the demo's small MoE base model on synthetic reasoning traces");
  cmd->add_option("config", options->file, "the TOML pretrain config")->required();
  cmd->add_option("--set", options->overrides, "override a key, as section.key=value (repeatable)")
      ->type_name("SECTION.KEY=VALUE")
      ->allow_extra_args(false);
  cmd->callback([&chosen, options] { chosen = [options] { return run_pretrain(*options); }; });
}

}  // namespace aha::cli
