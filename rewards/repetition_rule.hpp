// rule = "repetition": the n-gram repetition penalty of "Demystifying Long Chain-of-Thought
// Reasoning" (as in open-r1): max_penalty * (1 - distinct n-grams / n-grams) over lowercased words.
#pragma once

#include "rewards/reward_rule.hpp"

namespace aha::rewards {

class RepetitionPenaltyRule : public RewardRule {
 public:
  explicit RepetitionPenaltyRule(const RepetitionRule& keys) : keys_(keys) {}
  // Fewer words than one n-gram: 0. Flag: repeated_ngram_share.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  RepetitionRule keys_;
};

}  // namespace aha::rewards
