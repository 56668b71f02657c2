// rule = "reflection": how often a completion reflects (the aha moment). Always reported as the
// flags reflection_count and reflects (0/1); scored 1/0 on reflects unless log_only. Also its
// [[reward]] keys.
#pragma once

#include <string>
#include <vector>

#include "core/config_binder.hpp"
#include "rewards/reflection_phrases.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

struct ReflectionKeys {
  std::vector<std::string> phrases;
  bool log_only = true;
};

// The reflection phrases counted when a [[reward]] entry with rule = "reflection" gives none.
const std::vector<std::string>& default_reflection_phrases();

void bind_keys(config::Binder& b, ReflectionKeys& keys);

class ReflectionRule : public RewardRule {
 public:
  explicit ReflectionRule(const ReflectionKeys& keys) : phrases_(keys.phrases), log_only_(keys.log_only) {}
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  ReflectionPhrases phrases_;
  bool log_only_;
};

}  // namespace aha::rewards
