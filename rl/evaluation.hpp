// Held-out evaluation of a policy: K samples per problem with DeepSeek-R1's protocol (temperature
// 0.6, top-p 0.95 unless told otherwise), judged by the math rule: pass@1 averaged over the K
// samples, pass@K, maj@K (the most frequent extracted answer), mean length and reflection frequency.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/prompt_source.hpp"
#include "policy/tokenizer.hpp"
#include "policy/transformer.hpp"
#include "records/metrics_log.hpp"
#include "rewards/reflection_phrases.hpp"
#include "rl/training_sections.hpp"
#include "rollout/generator.hpp"

namespace aha::rl {

struct EvalSettings {
  int samples = 4;  // K
  rollout::GenerationSettings generation;
  std::string prompt_template = "r1_zero";
  int batch_prompts = 16;  // problems generated together
  uint64_t seed = 0;
};

struct EvalReport {
  int64_t problems = 0;
  int samples = 0;
  double pass_at_1 = 0.0;             // mean over problems of the share of correct samples
  double pass_at_k = 0.0;             // share of problems with at least one correct sample
  double maj_at_k = 0.0;              // share of problems whose most frequent answer is correct
  double mean_length = 0.0;           // completion tokens
  double reflection_frequency = 0.0;  // share of samples with a reflection phrase
};

// Settings from an [eval] section; `max_new_tokens` applies when the section's is 0.
EvalSettings eval_settings(const EvalSection& eval, int max_new_tokens, const rollout::GenerationSettings& stops,
                           const std::string& prompt_template, uint64_t seed);

// Shows progress through `on_batch(done, total)` when given.
EvalReport evaluate(policy::CausalLMImpl& model, const policy::Tokenizer& tokenizer,
                    const std::vector<datasets::PromptRecord>& problems, const EvalSettings& settings,
                    const rewards::ReflectionPhrases& phrases,
                    const std::function<void(int64_t, int64_t)>& on_batch = {});

// The same with a progress bar (when `progress`) and a one-line summary on stderr; returns to_json(report).
nlohmann::json evaluate_and_report(policy::CausalLMImpl& model, const policy::Tokenizer& tokenizer,
                                   const std::vector<datasets::PromptRecord>& problems, const EvalSettings& settings,
                                   const rewards::ReflectionPhrases& phrases, bool progress);

// Each number of an evaluation's JSON (but "problems" and "samples") as the metric eval/<key>.
void add_eval_metrics(records::StepMetrics& metrics, const nlohmann::json& evaluation);

// {"pass@1", "pass@K", "maj@K", "mean_length", "reflection_frequency", "problems", "samples"}
nlohmann::json to_json(const EvalReport& report);

}  // namespace aha::rl
