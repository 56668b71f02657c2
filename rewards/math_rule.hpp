// rule = "math": 1 when the completion's final answer equals the reference answer, else 0.
#pragma once

#include "rewards/reward_rule.hpp"

namespace aha::rewards {

class MathAnswerRule : public RewardRule {
 public:
  explicit MathAnswerRule(const MathRule& keys) : keys_(keys) {}
  // Flags: answer_found, correct. Throws Error when the record has no reference answer.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  MathRule keys_;
};

}  // namespace aha::rewards
