// The interface every reward rule implements, and the factory that builds one from its
// [[reward]] entry.
#pragma once

#include <memory>

#include "rewards/reward_records.hpp"
#include "rewards/reward_spec.hpp"

namespace aha::rewards {

class RewardRule {
 public:
  virtual ~RewardRule() = default;
  // Scores one completion; throws (aha::Error or anything else) when the rule cannot, and the
  // pipeline then uses the entry's failure_score. Called from several threads at once.
  virtual RuleOutcome score(const CompletionRecord& record) const = 0;
};

// Throws ConfigError when the entry's keys cannot make a rule (a regex that does not compile).
std::unique_ptr<RewardRule> make_reward_rule(const RewardSpec& spec);

}  // namespace aha::rewards
