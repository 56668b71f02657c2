// rule = "length": DAPO's soft overlong punishment (0 up to max_tokens - buffer_tokens, then
// falling linearly to -1 at max_tokens, -1 beyond), or the cosine length reward of "Demystifying
// Long Chain-of-Thought Reasoning" (short correct answers best, short wrong answers worst). Also
// its [[reward]] keys.
#pragma once

#include <cstdint>

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

enum class LengthMode { dapo, cosine };
struct LengthKeys {
  LengthMode mode = LengthMode::dapo;
  int max_tokens = 512;
  int buffer_tokens = 128;
  double correct_short = 1.0;  // cosine: reward of a correct answer at length 0
  double correct_long = 0.5;   // ... and at max_tokens
  double wrong_short = -1.0;   // cosine: reward of a wrong answer at length 0
  double wrong_long = -0.5;    // ... and at max_tokens
};

void bind_keys(config::Binder& b, LengthKeys& keys);

class LengthRule : public RewardRule {
 public:
  explicit LengthRule(const LengthKeys& keys) : keys_(keys) {}
  // Length in tokens when the record carries completion_tokens, else in whitespace-separated
  // words. Cosine mode judges correctness with the math rule, so it needs the record's answer.
  // Flag: length.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  LengthKeys keys_;
};

// The two shapes, exposed for tests.
double dapo_overlong_penalty(std::int64_t length, std::int64_t max_tokens, std::int64_t buffer_tokens);
double cosine_length_reward(std::int64_t length, std::int64_t max_tokens, double at_zero, double at_max);

}  // namespace aha::rewards
