// `aha eval --model DIR --data FILE [--samples K]`: pass@1 over K samples, pass@K, maj@K, mean
// length and reflection frequency on a GSM8K-style or {problem, answer} JSONL file.
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "policy/tokenizer.hpp"
#include "records/progress_bar.hpp"
#include "rewards/reward_spec.hpp"
#include "rl/evaluation.hpp"

namespace aha::cli {

namespace {

struct EvalCommandOptions {
  std::string model, data, out, question_key;
  int samples = 4, limit = 0, max_new_tokens = 512, batch = 16, threads = 0;
  double temperature = 0.6, top_p = 0.95;
  int64_t seed = 0;
};

int run_eval(const EvalCommandOptions& o) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  datasets::DataSection data;
  data.question_key = o.question_key.empty() ? datasets::detect_question_key(o.data) : o.question_key;
  data.dedupe = false;
  auto problems = datasets::read_prompt_records(o.data, data);
  if (o.limit > 0 && problems.size() > static_cast<std::size_t>(o.limit))
    problems.resize(static_cast<std::size_t>(o.limit));
  const auto tokenizer = policy::Tokenizer::from_file(o.model);
  if (!tokenizer.eos_id()) throw Error(fmt::format("{}: tokenizer_config.json names no eos_token", o.model));
  auto model = policy::load_causal_lm(o.model);
  model->eval();
  model->limit_vocabulary(tokenizer.vocab_size());

  rl::EvalSettings settings;
  settings.samples = o.samples;
  settings.generation.sampling = {o.temperature, 0, o.top_p, 0.0};
  settings.generation.max_new_tokens = o.max_new_tokens;
  settings.generation.eos_ids = {*tokenizer.eos_id()};
  settings.generation.pad_id = tokenizer.pad_id().value_or(*tokenizer.eos_id());
  settings.batch_prompts = o.batch;
  settings.seed = static_cast<uint64_t>(o.seed);
  records::ProgressBar progress("eval", static_cast<int64_t>(problems.size()), true);
  const auto report = rl::evaluate(*model, tokenizer, problems, settings,
                                   rewards::ReflectionPhrases(rewards::default_reflection_phrases()),
                                   [&](int64_t done, int64_t) { progress.update(done, ""); });
  progress.finish();
  const std::string json = rl::to_json(report).dump(1);
  std::cout << json << "\n";
  if (!o.out.empty()) write_file_durably(o.out, json + "\n");
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, Action& chosen) {
  auto o = std::make_shared<EvalCommandOptions>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a model on held-out problems: pass@1, pass@K, maj@K");
  cmd->add_option("--model", o->model, "Hugging Face model folder with tokenizer.json")->required();
  cmd->add_option("--data", o->data, "JSONL with question/answer (GSM8K) or problem/answer")->required();
  cmd->add_option("--samples", o->samples, "K samples per problem")->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->add_option("--temperature", o->temperature, "sampling temperature")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--top-p", o->top_p, "nucleus sampling mass")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "longest completion")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--limit", o->limit, "evaluate only the first N problems; 0: all")->capture_default_str();
  cmd->add_option("--question-key", o->question_key, "the question's field; default: question, or problem");
  cmd->add_option("--batch", o->batch, "problems sampled together")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads; 0: all cores")->capture_default_str();
  cmd->add_option("--out", o->out, "also write the JSON report to this file");
  cmd->callback([&chosen, o] { chosen = [o] { return run_eval(*o); }; });
}

}  // namespace aha::cli
