// rule = "format": 1 when the completion is the R1-Zero template <think>…</think> <answer>…</answer>
// as a whole (only whitespace around and between), each tag exactly once; else 0.
#pragma once

#include "rewards/reward_rule.hpp"

namespace aha::rewards {

class FormatTemplateRule : public RewardRule {
 public:
  explicit FormatTemplateRule(const FormatRule& keys) : keys_(keys) {}
  // Flags: format_ok, think_tags and answer_tags (how many opening and closing tags of each).
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  FormatRule keys_;
};

}  // namespace aha::rewards
