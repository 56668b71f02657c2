// evaluate(): batched sampling over the problems, then the math rule and a majority vote.
#include "rl/evaluation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "records/progress_bar.hpp"
#include "rewards/math_answer_extraction.hpp"
#include "rewards/math_rule.hpp"
#include "rl/scored_completion.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rl {

namespace {

// The most frequent of the extracted answers (compared as text); a tie goes to the one seen first.
std::optional<std::string> majority(const std::vector<std::optional<std::string>>& answers) {
  std::vector<std::pair<std::string, int>> clusters;
  for (const auto& a : answers) {
    if (!a) continue;
    auto same = std::find_if(clusters.begin(), clusters.end(), [&](const auto& c) { return c.first == *a; });
    if (same == clusters.end()) clusters.emplace_back(*a, 1);
    else ++same->second;
  }
  if (clusters.empty()) return std::nullopt;
  return std::max_element(clusters.begin(), clusters.end(),
                          [](const auto& x, const auto& y) { return x.second < y.second; })
      ->first;
}

}  // namespace

EvalSettings eval_settings(const EvalSection& eval, int max_new_tokens, const rollout::GenerationSettings& stops,
                           const std::string& prompt_template, uint64_t seed) {
  EvalSettings settings;
  settings.samples = eval.samples;
  settings.generation.sampling = {eval.temperature, 0, eval.top_p, 0.0};
  settings.generation.max_new_tokens = eval.max_new_tokens > 0 ? eval.max_new_tokens : max_new_tokens;
  settings.generation.eos_ids = stops.eos_ids;
  settings.generation.pad_id = stops.pad_id;
  settings.generation.stop = stops.stop;
  settings.prompt_template = prompt_template;
  settings.batch_prompts = eval.batch_prompts;
  settings.seed = seed;
  return settings;
}

EvalReport evaluate(policy::CausalLMImpl& model, const policy::Tokenizer& tokenizer,
                    const std::vector<datasets::PromptRecord>& problems, const EvalSettings& settings,
                    const rewards::ReflectionPhrases& phrases, const std::function<void(int64_t, int64_t)>& on_batch) {
  const rewards::MathRule math(rewards::MathKeys{});
  EvalReport report;
  report.problems = static_cast<int64_t>(problems.size());
  report.samples = settings.samples;
  at::Generator generator = rollout::seeded_generator(model.lm_head_weight().device(), settings.seed);
  const auto& eos = settings.generation.eos_ids;
  int64_t sampled = 0, reflecting = 0, tokens = 0;
  for (std::size_t first = 0; first < problems.size(); first += static_cast<std::size_t>(settings.batch_prompts)) {
    const std::size_t last = std::min(problems.size(), first + static_cast<std::size_t>(settings.batch_prompts));
    std::vector<std::vector<int64_t>> prompts;
    for (std::size_t p = first; p < last; ++p)
      prompts.push_back(tokenizer.encode(datasets::apply_template(settings.prompt_template, problems[p].question)));
    const auto samples = rollout::generate(model, prompts, settings.samples, settings.generation, generator,
                                           [&](std::span<const int64_t> ids) { return tokenizer.decode(ids); });
    for (std::size_t p = first; p < last; ++p) {
      int correct = 0;
      std::vector<std::optional<std::string>> answers;
      for (int k = 0; k < settings.samples; ++k) {
        const auto& s = samples[(p - first) * settings.samples + k];
        const std::string text = completion_text(tokenizer, s.tokens, eos);
        const auto outcome = math.score(completion_record(problems[p], text, static_cast<int64_t>(s.tokens.size())));
        correct += outcome.score > 0.0;
        answers.push_back(rewards::extract_predicted_answer(text));
        reflecting += phrases.count(text) > 0;
        tokens += static_cast<int64_t>(s.tokens.size());
        ++sampled;
      }
      report.pass_at_1 += static_cast<double>(correct) / settings.samples;
      report.pass_at_k += correct > 0;
      if (const auto voted = majority(answers)) {
        rewards::CompletionRecord vote = completion_record(problems[p], "<answer>" + *voted + "</answer>", 0);
        report.maj_at_k += math.score(vote).score > 0.0;
      }
    }
    if (on_batch) on_batch(static_cast<int64_t>(last), report.problems);
  }
  const double n = static_cast<double>(std::max<int64_t>(report.problems, 1));
  report.pass_at_1 /= n;
  report.pass_at_k /= n;
  report.maj_at_k /= n;
  report.mean_length = static_cast<double>(tokens) / static_cast<double>(std::max<int64_t>(sampled, 1));
  report.reflection_frequency = static_cast<double>(reflecting) / static_cast<double>(std::max<int64_t>(sampled, 1));
  return report;
}

nlohmann::json evaluate_and_report(policy::CausalLMImpl& model, const policy::Tokenizer& tokenizer,
                                   const std::vector<datasets::PromptRecord>& problems, const EvalSettings& settings,
                                   const rewards::ReflectionPhrases& phrases, bool progress) {
  records::ProgressBar bar("eval", static_cast<int64_t>(problems.size()), progress);
  const EvalReport report =
      evaluate(model, tokenizer, problems, settings, phrases, [&](int64_t done, int64_t) { bar.update(done, ""); });
  bar.finish();
  std::cerr << fmt::format("eval: pass@1 {:.3f}, pass@{} {:.3f}, maj@{} {:.3f}, length {:.1f}, reflection {:.3f}\n",
                           report.pass_at_1, report.samples, report.pass_at_k, report.samples, report.maj_at_k,
                           report.mean_length, report.reflection_frequency);
  return to_json(report);
}

void add_eval_metrics(records::StepMetrics& metrics, const nlohmann::json& evaluation) {
  for (const auto& [key, value] : evaluation.items())
    if (key != "problems" && key != "samples") metrics.add("eval/" + key, value.get<double>());
}

nlohmann::json to_json(const EvalReport& r) {
  return {{"pass@1", r.pass_at_1},
          {fmt::format("pass@{}", r.samples), r.pass_at_k},
          {fmt::format("maj@{}", r.samples), r.maj_at_k},
          {"mean_length", r.mean_length},
          {"reflection_frequency", r.reflection_frequency},
          {"problems", r.problems},
          {"samples", r.samples}};
}

}  // namespace aha::rl
