// rule = "repetition": the n-gram repetition penalty of "Demystifying Long Chain-of-Thought
// Reasoning" (as in open-r1): max_penalty * (1 - distinct n-grams / n-grams) over lowercased words.
// Also its [[reward]] keys.
#pragma once

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

struct RepetitionKeys {
  int ngram = 3;
  double max_penalty = -1.0;
};

void bind_keys(config::Binder& b, RepetitionKeys& keys);

class RepetitionRule : public RewardRule {
 public:
  explicit RepetitionRule(const RepetitionKeys& keys) : keys_(keys) {}
  // Fewer words than one n-gram: 0. Flag: repeated_ngram_share.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  RepetitionKeys keys_;
};

}  // namespace aha::rewards
