// rule = "language": language consistency, the share of the thinking's letters written in its
// dominant script (or in the configured script), as in DeepSeek-R1's language reward.
#pragma once

#include "rewards/reward_rule.hpp"

namespace aha::rewards {

class LanguageConsistencyRule : public RewardRule {
 public:
  explicit LanguageConsistencyRule(const LanguageRule& keys) : keys_(keys) {}
  // The thinking is the text inside <think>…</think>, or before </think> when the prompt opened it,
  // or the whole completion without think tags. No letters: 1. Flags: script, script_share.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  LanguageRule keys_;
};

}  // namespace aha::rewards
