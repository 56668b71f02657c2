// rule = "length": DAPO's soft overlong punishment (0 up to max_tokens - buffer_tokens, then
// falling linearly to -1 at max_tokens, -1 beyond), or the cosine length reward of "Demystifying
// Long Chain-of-Thought Reasoning" (short correct answers best, short wrong answers worst).
#pragma once

#include "rewards/reward_rule.hpp"

namespace aha::rewards {

class LengthShapingRule : public RewardRule {
 public:
  explicit LengthShapingRule(const LengthRule& keys) : keys_(keys) {}
  // Length in tokens when the record carries completion_tokens, else in whitespace-separated
  // words. Cosine mode judges correctness with the math rule, so it needs the record's answer.
  // Flag: length.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  LengthRule keys_;
};

// The two shapes, exposed for tests.
double dapo_overlong_penalty(std::int64_t length, std::int64_t max_tokens, std::int64_t buffer_tokens);
double cosine_length_reward(std::int64_t length, std::int64_t max_tokens, double at_zero, double at_max);

}  // namespace aha::rewards
