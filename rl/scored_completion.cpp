// Decoding, scoring and summarising a batch of sampled completions.
#include "rl/scored_completion.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <variant>

namespace aha::rl {

namespace {

template <typename T>
std::optional<T> flag(const rewards::ScoreRecord& score, std::string_view name) {
  for (const auto& f : score.flags)
    if (f.name == name)
      if (const T* value = std::get_if<T>(&f.value)) return *value;
  return std::nullopt;
}

std::optional<std::string> text_field(const nlohmann::json& fields, const char* key) {
  if (!fields.is_object() || !fields.contains(key) || !fields[key].is_string()) return std::nullopt;
  return fields[key].get<std::string>();
}

}  // namespace

std::optional<bool> is_correct(const rewards::ScoreRecord& score) {
  if (auto correct = flag<bool>(score, "correct")) return correct;
  if (auto completed = flag<bool>(score, "tests_completed"))
    return *completed && flag<int64_t>(score, "tests_passed") == flag<int64_t>(score, "tests_total");
  return std::nullopt;
}

std::string completion_text(const policy::Tokenizer& tokenizer, std::span<const int64_t> tokens,
                            const std::vector<int64_t>& eos_ids) {
  if (!tokens.empty() && std::find(eos_ids.begin(), eos_ids.end(), tokens.back()) != eos_ids.end())
    tokens = tokens.first(tokens.size() - 1);
  return tokenizer.decode(tokens);
}

rewards::CompletionRecord completion_record(const datasets::PromptRecord& record, const std::string& text,
                                            int64_t tokens) {
  rewards::CompletionRecord r;
  r.completion = text;
  if (!record.answer.empty()) r.answer = record.answer;
  r.tests = text_field(record.fields, "test");
  if (!r.tests) r.tests = text_field(record.fields, "tests");
  r.entry_point = text_field(record.fields, "entry_point");
  r.language = text_field(record.fields, "language");
  r.completion_tokens = tokens;
  r.fields = record.fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

std::vector<ScoredCompletion> score_completions(std::vector<rollout::Completion> samples,
                                                const std::vector<std::size_t>& records,
                                                const std::vector<std::vector<int64_t>>& prompts, int group_size,
                                                const datasets::PromptSource& source,
                                                const policy::Tokenizer& tokenizer, const std::vector<int64_t>& eos_ids,
                                                const ScoreBatch& score_batch,
                                                const rewards::ReflectionPhrases& phrases) {
  std::vector<ScoredCompletion> scored(samples.size());
  std::vector<rewards::CompletionRecord> inputs;
  inputs.reserve(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    ScoredCompletion& s = scored[i];
    s.record = records[i / group_size];
    s.prompt = prompts[i / group_size];
    s.sample = std::move(samples[i]);
    s.text = completion_text(tokenizer, s.sample.tokens, eos_ids);
    s.reflections = phrases.count(s.text);
    inputs.push_back(completion_record(source.record(s.record), s.text, static_cast<int64_t>(s.sample.tokens.size())));
    inputs.back().prompt = source.prompt_text(s.record);
  }
  auto scores = score_batch(inputs);
  for (std::size_t i = 0; i < scored.size(); ++i) {
    scored[i].score = std::move(scores[i]);
    scored[i].correct = is_correct(scored[i].score);
  }
  return scored;
}

void add_rollout_metrics(records::StepMetrics& metrics, std::span<const ScoredCompletion> batch,
                         const std::vector<rewards::RewardSpec>& specs) {
  const double n = static_cast<double>(std::max<std::size_t>(batch.size(), 1));
  double sum = 0.0, squares = 0.0;
  for (const auto& s : batch) sum += s.score.total;
  const double mean = sum / n;
  for (const auto& s : batch) squares += (s.score.total - mean) * (s.score.total - mean);
  metrics.add("reward_mean", mean);
  metrics.add("reward_std", batch.size() > 1 ? std::sqrt(squares / (n - 1.0)) : 0.0);
  for (std::size_t r = 0; r < specs.size(); ++r) {
    double rule = 0.0, failures = 0.0;
    for (const auto& s : batch) {
      rule += s.score.rules.at(r).score;
      failures += s.score.rules.at(r).error.has_value();
    }
    metrics.add("reward/" + specs[r].name, rule / n);
    metrics.add("reward_failures/" + specs[r].name, failures);
  }
  int64_t judged = 0, correct = 0, clipped = 0, reflecting = 0, reflections = 0;
  std::size_t shortest = batch.empty() ? 0 : SIZE_MAX, longest = 0, tokens = 0;
  for (const auto& s : batch) {
    judged += s.correct.has_value();
    correct += s.correct.value_or(false);
    clipped += s.sample.finish == rollout::FinishReason::length;
    reflecting += s.reflections > 0;
    reflections += s.reflections;
    shortest = std::min(shortest, s.sample.tokens.size());
    longest = std::max(longest, s.sample.tokens.size());
    tokens += s.sample.tokens.size();
  }
  if (judged > 0) metrics.add("accuracy", static_cast<double>(correct) / static_cast<double>(judged));
  metrics.add("completion_length_mean", static_cast<double>(tokens) / n);
  metrics.add("completion_length_min", static_cast<double>(shortest));
  metrics.add("completion_length_max", static_cast<double>(longest));
  metrics.add("clipped_ratio", static_cast<double>(clipped) / n);
  metrics.add("reflection_frequency", static_cast<double>(reflecting) / n);
  metrics.add("reflection_count", static_cast<double>(reflections) / n);
}

rewards::ReflectionPhrases reflection_phrases(const std::vector<rewards::RewardSpec>& specs) {
  for (const auto& spec : specs)
    if (const auto* rule = std::get_if<rewards::ReflectionKeys>(&spec.keys); rule && !rule->phrases.empty())
      return rewards::ReflectionPhrases(rule->phrases);
  return rewards::ReflectionPhrases(rewards::default_reflection_phrases());
}

std::vector<std::string> rules_failing_everywhere(std::span<const ScoredCompletion> batch,
                                                  const std::vector<rewards::RewardSpec>& specs) {
  std::vector<std::string> out;
  if (batch.empty()) return out;
  for (std::size_t r = 0; r < specs.size(); ++r) {
    const auto failed = [r](const ScoredCompletion& s) { return s.score.rules.at(r).error.has_value(); };
    if (!std::all_of(batch.begin(), batch.end(), failed)) continue;
    out.push_back(fmt::format("rule \"{}\" failed on all {} completions and gave its failure_score {}: {}",
                              specs[r].name, batch.size(), specs[r].failure_score,
                              *batch.front().score.rules.at(r).error));
  }
  return out;
}

}  // namespace aha::rl
