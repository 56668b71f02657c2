// The interface every reward rule implements. rewards/rule_registry.hpp makes one from its
// [[reward]] entry.
#pragma once

#include "rewards/reward_records.hpp"

namespace aha::rewards {

class RewardRule {
 public:
  virtual ~RewardRule() = default;
  // Scores one completion; throws (aha::Error or anything else) when the rule cannot, and the
  // pipeline then uses the entry's failure_score. Called from several threads at once.
  virtual RuleOutcome score(const CompletionRecord& record) const = 0;
};

}  // namespace aha::rewards
