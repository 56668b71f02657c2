// The length rule and its keys.
#include "rewards/length_rule.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <numbers>
#include <string_view>
#include <utility>

#include "rewards/math_rule.hpp"

namespace aha::rewards {

namespace {

constexpr std::array<std::pair<LengthMode, std::string_view>, 2> length_mode_names{
    {{LengthMode::dapo, "dapo"}, {LengthMode::cosine, "cosine"}}};

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

void bind_keys(config::Binder& b, LengthKeys& keys) {
  b.choice({"mode", "dapo: soft overlong punishment; cosine: length-scaled reward"}, keys.mode, LengthMode::dapo,
           length_mode_names);
  b.integer({"max_tokens", "completion length (tokens, else words) at which the penalty is full"}, keys.max_tokens, 512,
            {1, 1 << 20});
  b.integer({"buffer_tokens", "the penalty grows linearly over the last buffer_tokens before max_tokens"},
            keys.buffer_tokens, 128, {0, 1 << 20});
  b.number({"correct_short", "cosine: reward of a correct answer of length 0"}, keys.correct_short, 1.0);
  b.number({"correct_long", "cosine: reward of a correct answer of max_tokens or more"}, keys.correct_long, 0.5);
  b.number({"wrong_short", "cosine: reward of a wrong answer of length 0"}, keys.wrong_short, -1.0);
  b.number({"wrong_long", "cosine: reward of a wrong answer of max_tokens or more"}, keys.wrong_long, -0.5);
}

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

RuleOutcome LengthRule::score(const CompletionRecord& record) const {
  const std::int64_t length = record.completion_tokens ? *record.completion_tokens : word_count(record.completion);
  double score = 0.0;
  if (keys_.mode == LengthMode::dapo) {
    score = dapo_overlong_penalty(length, keys_.max_tokens, keys_.buffer_tokens);
  } else {
    const bool correct = MathRule(MathKeys{}).score(record).score > 0.0;
    score = correct ? cosine_length_reward(length, keys_.max_tokens, keys_.correct_short, keys_.correct_long)
                    : cosine_length_reward(length, keys_.max_tokens, keys_.wrong_short, keys_.wrong_long);
  }
  return {score, {{"length", length}}};
}

}  // namespace aha::rewards
