// A sampled completion after the reward pipeline: its text, reward, each rule's score, whether
// it is correct, and how often it reflects; and the per-step rollout metrics computed over a
// batch of them (reward, accuracy, length, reflection). No tensors.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "datasets/prompt_source.hpp"
#include "policy/tokenizer.hpp"
#include "records/metrics_log.hpp"
#include "rewards/reflection_phrases.hpp"
#include "rewards/reward_pipeline.hpp"
#include "rollout/generator.hpp"

namespace aha::rl {

struct ScoredCompletion {
  std::size_t record = 0;       // index of the prompt record
  std::vector<int64_t> prompt;  // prompt tokens
  rollout::Completion sample;   // tokens, sampling log-probs, finish reason
  std::string text;             // the completion decoded, without the end-of-sequence token
  rewards::ScoreRecord score;
  std::optional<bool> correct;  // from the math rule ("correct") or the code rule (every test passed)
  int64_t reflections = 0;      // reflection phrases in the text
};

// Correct when a math rule said so, or a code rule ran every test and all passed; none when no rule judges.
std::optional<bool> is_correct(const rewards::ScoreRecord& score);

// The completion's text, without a final end-of-sequence token.
std::string completion_text(const policy::Tokenizer& tokenizer, std::span<const int64_t> tokens,
                            const std::vector<int64_t>& eos_ids);

// What the reward pipeline sees of a completion of the prompt record `record`.
rewards::CompletionRecord completion_record(const datasets::PromptRecord& record, const std::string& text,
                                            int64_t tokens);

// Scores a batch of reward inputs: the pipeline itself, or (data parallel) a share of it per process.
using ScoreBatch = std::function<std::vector<rewards::ScoreRecord>(const std::vector<rewards::CompletionRecord>&)>;

// Decodes and scores `samples` (grouped by prompt: samples[i] belongs to records[i / group_size]).
std::vector<ScoredCompletion> score_completions(std::vector<rollout::Completion> samples,
                                                const std::vector<std::size_t>& records,
                                                const std::vector<std::vector<int64_t>>& prompts, int group_size,
                                                const datasets::PromptSource& source,
                                                const policy::Tokenizer& tokenizer, const std::vector<int64_t>& eos_ids,
                                                const ScoreBatch& score_batch,
                                                const rewards::ReflectionPhrases& phrases);

// reward_mean/std, reward/<rule> means, accuracy, completion_length_mean/min/max, clipped_ratio
// (share ended by max_new_tokens), reflection_frequency (share with a reflection) and
// reflection_count (mean phrases per completion).
void add_rollout_metrics(records::StepMetrics& metrics, std::span<const ScoredCompletion> batch,
                         const std::vector<rewards::RewardSpec>& specs);

// A line for each rule that failed on every completion of the batch (a missing data key, a
// broken sandbox): its name, failure_score and the first error. Such a rule rewards nothing.
std::vector<std::string> rules_failing_everywhere(std::span<const ScoredCompletion> batch,
                                                  const std::vector<rewards::RewardSpec>& specs);

// The reflection phrases of the experiment's reflection rule, else the defaults.
rewards::ReflectionPhrases reflection_phrases(const std::vector<rewards::RewardSpec>& specs);

}  // namespace aha::rl
