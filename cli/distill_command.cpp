// `aha distill --teacher DIR --data FILE --samples K --out traces.jsonl [--config rewards.toml]`:
// rejection sampling. The teacher samples K completions per problem, the reward rules keep the
// verified-correct, well-formatted ones, duplicates are dropped, and each kept trace becomes one
// line of traces.jsonl. traces.summary.jsonl gets one line per problem (sampled, correct,
// formatted, duplicates, kept) as each batch finishes, which is also what --resume continues from.
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "records/progress_bar.hpp"
#include "rewards/reward_config.hpp"
#include "rl/distillation.hpp"

namespace aha::cli {

namespace {

struct DistillOptions {
  std::string teacher, data, out, config, question_key, prompt_template = "r1_zero";
  std::vector<std::string> stop;
  int samples = 4, limit = 0, max_new_tokens = 512, batch = 16, threads = 0;
  double temperature = 0.6, top_p = 0.95;
  int64_t seed = 0;
  bool resume = false;
};

std::vector<rewards::RewardSpec> default_rewards() {
  rewards::RewardSpec math, format;
  math.name = "math";
  math.keys = rewards::MathKeys{};
  format.name = "format";
  format.weight = 0.5;
  format.keys = rewards::FormatKeys{};
  return {math, format};
}

std::filesystem::path summary_path(const std::filesystem::path& out) {
  return out.parent_path() / (out.stem().string() + ".summary.jsonl");
}

// The complete JSON lines of `file`; a cut last line (a kill mid-write) is dropped, any other
// malformed line is an error naming it.
std::vector<nlohmann::ordered_json> read_lines(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<nlohmann::ordered_json> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto json = nlohmann::ordered_json::parse(lines[i], nullptr, false);
    if (json.is_object()) out.push_back(std::move(json));
    else if (i + 1 < lines.size())
      throw Error(fmt::format("{}:{}: not a JSON object; the file was edited or damaged", file.string(), i + 1));
  }
  return out;
}

void write_lines(const std::filesystem::path& file, const std::vector<nlohmann::ordered_json>& lines) {
  std::string text;
  for (const auto& line : lines) text += line.dump() + "\n";
  write_file_durably(file, text);
}

// Restores an interrupted run: the tallies of finished problems, and the traces of those problems
// (a batch whose tallies were not written yet is sampled again). Returns the problems done.
std::size_t restore(const DistillOptions& o, const std::string& fingerprint, std::vector<rl::ProblemTally>& tallies,
                    rl::TraceSet& seen) {
  const auto out = std::filesystem::path(o.out), summary = summary_path(out);
  for (const auto& j : read_lines(summary)) tallies.push_back(rl::tally_from_json(j));
  for (std::size_t i = 0; i < tallies.size(); ++i) {
    if (tallies[i].problem != i)
      throw Error(fmt::format("{}:{}: expected problem {}, found {}", summary.string(), i + 1, i, tallies[i].problem));
    if (tallies[i].sampled != o.samples)
      throw Error(fmt::format("{}: was written with --samples {}; resume with the same options", summary.string(),
                              tallies[i].sampled));
  }
  std::vector<nlohmann::ordered_json> kept;
  for (auto& j : read_lines(out)) {
    if (j.value("tokenizer", "") != fingerprint)
      throw Error(fmt::format("{}: holds traces of a teacher with another tokenizer than {}", out.string(), o.teacher));
    if (j.at("problem").get<std::size_t>() >= tallies.size()) continue;
    seen.insert(j.at("prompt").get<std::string>(), j.at("completion").get<std::string>());
    kept.push_back(std::move(j));
  }
  write_lines(out, kept);
  std::vector<nlohmann::ordered_json> summary_lines;
  for (const auto& t : tallies) summary_lines.push_back(rl::tally_json(t));
  write_lines(summary, summary_lines);
  return tallies.size();
}

void print_summary(const std::vector<rl::ProblemTally>& tallies, const std::string& out) {
  int64_t sampled = 0, correct = 0, formatted = 0, duplicates = 0, kept = 0, with_trace = 0;
  std::cout << "line\tkept/sampled\tcorrect\tformatted\tduplicates\n";
  for (const auto& t : tallies) {
    std::cout << fmt::format("{}\t{}/{}\t{}\t{}\t{}\n", t.line, t.kept, t.sampled, t.correct, t.formatted,
                             t.duplicates);
    sampled += t.sampled;
    correct += t.correct;
    formatted += t.formatted;
    duplicates += t.duplicates;
    kept += t.kept;
    with_trace += t.kept > 0;
  }
  const auto share = [](int64_t part, int64_t whole) {
    return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  };
  std::cout << fmt::format(
      "overall: kept {}/{} samples ({:.1f}%); correct {:.1f}%, well formatted {:.1f}%, {} duplicates dropped; "
      "{}/{} problems have at least one trace; traces in {}\n",
      kept, sampled, share(kept, sampled), share(correct, sampled), share(formatted, sampled), duplicates, with_trace,
      tallies.size(), out);
}

int run_distill(const DistillOptions& o) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  const auto specs = o.config.empty() ? default_rewards() : rewards::read_reward_specs(o.config);
  rl::require_verifier(specs);
  rewards::RewardPipeline pipeline(specs);
  datasets::DataSection data;
  data.question_key = o.question_key.empty() ? datasets::detect_question_key(o.data) : o.question_key;
  std::size_t duplicate_problems = 0;
  auto problems = datasets::read_prompt_records(o.data, data, &duplicate_problems);
  if (o.limit > 0 && problems.size() > static_cast<std::size_t>(o.limit))
    problems.resize(static_cast<std::size_t>(o.limit));
  const auto tokenizer = policy::Tokenizer::from_file(o.teacher);
  if (!tokenizer.eos_id()) throw Error(fmt::format("{}: tokenizer_config.json names no eos_token", o.teacher));

  const auto out = std::filesystem::path(o.out), summary = summary_path(out);
  const bool started = std::filesystem::exists(out) || std::filesystem::exists(summary);
  if (started && !o.resume)
    throw Error(fmt::format("{} already holds traces: pass --resume to continue that run, or choose another --out",
                            out.string()));
  std::vector<rl::ProblemTally> tallies;
  rl::TraceSet seen;
  const std::size_t done = o.resume && started ? restore(o, tokenizer.fingerprint(), tallies, seen) : 0;
  if (done % static_cast<std::size_t>(o.batch) != 0 && done < problems.size())
    throw Error(fmt::format("{}: {} problems are done, not a whole number of batches of {}: resume with the --batch "
                            "the run started with",
                            summary.string(), done, o.batch));
  if (!out.parent_path().empty()) std::filesystem::create_directories(out.parent_path());

  auto teacher = policy::load_causal_lm(o.teacher);
  teacher->eval();
  teacher->limit_vocabulary(tokenizer.vocab_size());
  rl::DistillSettings settings;
  settings.samples = o.samples;
  settings.generation.sampling = {o.temperature, 0, o.top_p, 0.0};
  settings.generation.max_new_tokens = o.max_new_tokens;
  settings.generation.eos_ids = {*tokenizer.eos_id()};
  settings.generation.pad_id = tokenizer.pad_id().value_or(*tokenizer.eos_id());
  settings.generation.stop = o.stop;
  settings.prompt_template = o.prompt_template;
  settings.batch_prompts = o.batch;
  settings.seed = static_cast<uint64_t>(o.seed);
  std::cerr << fmt::format("{} problems ({} duplicates dropped), {} samples each{}\n", problems.size(),
                           duplicate_problems, o.samples, done ? fmt::format(", resuming after {}", done) : "");

  std::ofstream traces(out, std::ios::app), tally_file(summary, std::ios::app);
  records::ProgressBar progress("distill", static_cast<int64_t>(problems.size()), true, static_cast<int64_t>(done));
  int64_t kept = 0;
  for (const auto& t : tallies) kept += t.kept;
  for (std::size_t first = done; first < problems.size(); first += static_cast<std::size_t>(o.batch)) {
    const std::size_t last = std::min(problems.size(), first + static_cast<std::size_t>(o.batch));
    const auto batch = rl::distill_batch(*teacher, tokenizer, problems, first, last,
                                         static_cast<int64_t>(first) / o.batch, settings, pipeline, seen);
    for (const auto& trace : batch.traces)
      traces << rl::trace_json(trace, problems[trace.problem], tokenizer.fingerprint()).dump() << "\n";
    if (!traces.flush()) throw_write_error(out, "the write failed");  // traces first: a batch counts as done
    for (const auto& t : batch.tallies) tally_file << rl::tally_json(t).dump() << "\n";  // once its tallies are written
    if (!tally_file.flush()) throw_write_error(summary, "the write failed");
    tallies.insert(tallies.end(), batch.tallies.begin(), batch.tallies.end());
    kept += static_cast<int64_t>(batch.traces.size());
    progress.update(static_cast<int64_t>(last), fmt::format("kept {}", kept));
  }
  progress.finish();
  print_summary(tallies, out.string());
  return 0;
}

}  // namespace

void add_distill_command(CLI::App& app, Action& chosen) {
  auto o = std::make_shared<DistillOptions>();
  auto* cmd = app.add_subcommand("distill", "Write a teacher's verified reasoning traces by rejection sampling");
  cmd->add_option("--teacher", o->teacher, "the teacher: Hugging Face model folder with tokenizer.json")->required();
  cmd->add_option("--data", o->data, "JSONL problems with question/answer (GSM8K) or problem/answer")->required();
  cmd->add_option("--out", o->out, "the traces, one JSON line each (prompt, completion, reward, rewards)")->required();
  cmd->add_option("--samples", o->samples, "K completions sampled per problem")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--config", o->config, "TOML with [[reward]] entries; default: math, and format at weight 0.5");
  cmd->add_option("--temperature", o->temperature, "sampling temperature")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--top-p", o->top_p, "nucleus sampling mass")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "longest completion")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--stop", o->stop, "a string that ends a completion (repeatable)");
  cmd->add_option("--template", o->prompt_template, "prompt template: r1_zero, or text with {question}")
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "only the first N problems; 0: all")->capture_default_str();
  cmd->add_option("--question-key", o->question_key, "the question's field; default: question, or problem");
  cmd->add_option("--batch", o->batch, "problems sampled together")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads; 0: all cores")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "continue an interrupted run into the same --out");
  cmd->callback([&chosen, o] { chosen = [o] { return run_distill(*o); }; });
}

}  // namespace aha::cli
