// rule = "language": language consistency, the share of the thinking's letters written in its
// dominant script (or in the configured script), as in DeepSeek-R1's language reward. Also its
// [[reward]] keys.
#pragma once

#include <string>

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

struct LanguageKeys {
  std::string script;  // empty: the dominant script of the thinking
};

void bind_keys(config::Binder& b, LanguageKeys& keys);

class LanguageRule : public RewardRule {
 public:
  explicit LanguageRule(const LanguageKeys& keys) : keys_(keys) {}
  // The thinking is the text inside <think>…</think>, or before </think> when the prompt opened it,
  // or the whole completion without think tags. No letters: 1. Flags: script, script_share.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  LanguageKeys keys_;
};

}  // namespace aha::rewards
