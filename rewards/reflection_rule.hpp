// rule = "reflection": how often a completion reflects (the aha moment). Always reported as the
// flags reflection_count and reflects (0/1); scored 1/0 on reflects unless log_only.
#pragma once

#include "rewards/reflection_phrases.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

class ReflectionRuleScorer : public RewardRule {
 public:
  explicit ReflectionRuleScorer(const ReflectionRule& keys) : phrases_(keys.phrases), log_only_(keys.log_only) {}
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  ReflectionPhrases phrases_;
  bool log_only_;
};

}  // namespace aha::rewards
