// rule = "math": 1 when the completion's final answer equals the reference answer, else 0. Also
// its [[reward]] keys.
#pragma once

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

struct MathKeys {
  int timeout_ms = 1000;
};

void bind_keys(config::Binder& b, MathKeys& keys);

class MathRule : public RewardRule {
 public:
  explicit MathRule(const MathKeys& keys) : keys_(keys) {}
  // Flags: answer_found, correct. Throws Error when the record has no reference answer.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  MathKeys keys_;
};

}  // namespace aha::rewards
