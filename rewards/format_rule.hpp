// rule = "format": 1 when the completion is the R1-Zero template <think>…</think> <answer>…</answer>
// as a whole (only whitespace around and between), each tag exactly once; else 0. Also its
// [[reward]] keys.
#pragma once

#include <string>

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

struct FormatKeys {
  std::string think_tag = "think";
  std::string answer_tag = "answer";
  bool think_opened_in_prompt = false;  // the prompt ends with <think>: the completion has no opening tag
};

void bind_keys(config::Binder& b, FormatKeys& keys);

class FormatRule : public RewardRule {
 public:
  explicit FormatRule(const FormatKeys& keys) : keys_(keys) {}
  // Flags: format_ok, think_tags and answer_tags (how many opening and closing tags of each).
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  FormatKeys keys_;
};

}  // namespace aha::rewards
