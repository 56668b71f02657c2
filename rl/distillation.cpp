// Rejection sampling: generate K per problem, score, judge, tally.
#include "rl/distillation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <variant>

#include "core/error.hpp"
#include "rl/scored_completion.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rl {

namespace {

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// The format rule's verdict; none when no format rule ran.
std::optional<bool> format_ok(const rewards::ScoreRecord& score) {
  for (const auto& f : score.flags)
    if (f.name == "format_ok")
      if (const bool* ok = std::get_if<bool>(&f.value)) return *ok;
  return std::nullopt;
}

}  // namespace

bool TraceSet::insert(const std::string& prompt, const std::string& completion) {
  std::string key = prompt;
  key += '\0';
  key += trimmed(completion);
  return seen_.insert(std::move(key)).second;
}

Verdict judge(const rewards::ScoreRecord& score, const std::string& prompt, const std::string& completion,
              TraceSet& seen) {
  if (is_correct(score) != true) return Verdict::incorrect;
  if (format_ok(score) == false) return Verdict::malformed;
  if (!seen.insert(prompt, completion)) return Verdict::duplicate;
  return Verdict::kept;
}

void require_verifier(const std::vector<rewards::RewardSpec>& specs) {
  const bool verifies = std::any_of(specs.begin(), specs.end(), [](const rewards::RewardSpec& s) {
    return std::holds_alternative<rewards::MathKeys>(s.keys) || std::holds_alternative<rewards::CodeKeys>(s.keys);
  });
  if (!verifies)
    throw ConfigError("reward: distillation keeps only verified-correct traces, so the rewards need a math or a code "
                      "rule ([[reward]] with rule = \"math\" or \"code\")");
}

DistilledBatch distill_batch(policy::CausalLMImpl& teacher, const policy::Tokenizer& tokenizer,
                             const std::vector<datasets::PromptRecord>& problems, std::size_t first, std::size_t last,
                             int64_t batch, const DistillSettings& settings, const rewards::RewardPipeline& pipeline,
                             TraceSet& seen) {
  std::vector<std::string> prompts;
  std::vector<std::vector<int64_t>> prompt_ids;
  for (std::size_t p = first; p < last; ++p) {
    prompts.push_back(datasets::apply_template(settings.prompt_template, problems[p].question));
    prompt_ids.push_back(tokenizer.encode(prompts.back()));
  }
  at::Generator generator =
      rollout::seeded_generator(teacher.lm_head_weight().device(), settings.seed + static_cast<uint64_t>(batch));
  const auto samples = rollout::generate(teacher, prompt_ids, settings.samples, settings.generation, generator,
                                         [&](std::span<const int64_t> ids) { return tokenizer.decode(ids); });
  std::vector<std::string> texts;
  std::vector<rewards::CompletionRecord> inputs;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    texts.push_back(completion_text(tokenizer, samples[i].tokens, settings.generation.eos_ids));
    inputs.push_back(completion_record(problems[first + i / settings.samples], texts.back(),
                                       static_cast<int64_t>(samples[i].tokens.size())));
  }
  auto scores = pipeline.score_batch(inputs);

  DistilledBatch out;
  for (std::size_t p = first; p < last; ++p) {
    ProblemTally tally;
    tally.problem = p;
    tally.line = problems[p].line;
    for (int k = 0; k < settings.samples; ++k) {
      const std::size_t i = (p - first) * static_cast<std::size_t>(settings.samples) + static_cast<std::size_t>(k);
      const std::string& prompt = prompts[p - first];
      ++tally.sampled;
      tally.correct += is_correct(scores[i]) == true;
      tally.formatted += format_ok(scores[i]).value_or(true);
      const Verdict verdict = judge(scores[i], prompt, texts[i], seen);
      tally.duplicates += verdict == Verdict::duplicate;
      if (verdict != Verdict::kept) continue;
      ++tally.kept;
      out.traces.push_back({p, prompt, texts[i], static_cast<int64_t>(samples[i].tokens.size()), std::move(scores[i])});
    }
    out.tallies.push_back(tally);
  }
  return out;
}

nlohmann::ordered_json trace_json(const Trace& trace, const datasets::PromptRecord& record,
                                  const std::string& tokenizer) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::object();
  for (const auto& r : trace.score.rules) rules[r.name] = r.score;
  return {{"prompt", trace.prompt},  {"completion", trace.completion}, {"reward", trace.score.total},
          {"rewards", rules},        {"tokens", trace.tokens},         {"question", record.question},
          {"answer", record.answer}, {"problem", trace.problem},       {"tokenizer", tokenizer}};
}

nlohmann::ordered_json tally_json(const ProblemTally& t) {
  return {{"problem", t.problem}, {"line", t.line},           {"sampled", t.sampled},
          {"correct", t.correct}, {"formatted", t.formatted}, {"duplicates", t.duplicates},
          {"kept", t.kept}};
}

ProblemTally tally_from_json(const nlohmann::ordered_json& j) {
  ProblemTally t;
  t.problem = j.at("problem").get<std::size_t>();
  t.line = j.at("line").get<std::size_t>();
  t.sampled = j.at("sampled").get<int>();
  t.correct = j.at("correct").get<int>();
  t.formatted = j.at("formatted").get<int>();
  t.duplicates = j.at("duplicates").get<int>();
  t.kept = j.at("kept").get<int>();
  return t;
}

}  // namespace aha::rl
