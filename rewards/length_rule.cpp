// The length rule.
#include "rewards/length_rule.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numbers>

#include "rewards/math_rule.hpp"

namespace aha::rewards {

namespace {

std::int64_t word_count(std::string_view text) {
  std::int64_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace

double dapo_overlong_penalty(std::int64_t length, std::int64_t max_tokens, std::int64_t buffer_tokens) {
  const std::int64_t soft_start = max_tokens - buffer_tokens;
  if (length <= soft_start) return 0.0;
  if (length > max_tokens) return -1.0;
  return static_cast<double>(soft_start - length) / static_cast<double>(buffer_tokens);
}

double cosine_length_reward(std::int64_t length, std::int64_t max_tokens, double at_zero, double at_max) {
  const double progress = std::min(1.0, static_cast<double>(length) / static_cast<double>(max_tokens));
  return at_max + 0.5 * (at_zero - at_max) * (1.0 + std::cos(progress * std::numbers::pi));
}

RuleOutcome LengthShapingRule::score(const CompletionRecord& record) const {
  const std::int64_t length = record.completion_tokens ? *record.completion_tokens : word_count(record.completion);
  double score = 0.0;
  if (keys_.mode == LengthMode::dapo) {
    score = dapo_overlong_penalty(length, keys_.max_tokens, keys_.buffer_tokens);
  } else {
    const bool correct = MathAnswerRule(MathRule{}).score(record).score > 0.0;
    score = correct ? cosine_length_reward(length, keys_.max_tokens, keys_.correct_short, keys_.correct_long)
                    : cosine_length_reward(length, keys_.max_tokens, keys_.wrong_short, keys_.wrong_long);
  }
  return {score, {{"length", length}}};
}

}  // namespace aha::rewards
