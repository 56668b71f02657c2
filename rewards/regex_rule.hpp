// rule = "regex": a user's PCRE2 pattern searched in the completion under a match limit (and JIT
// compiled where PCRE2 has a JIT), so that no pattern can hang the run: `score` when it matches,
// else 0. A search that hits the limit is a rule failure (failure_score, counted).
#pragma once

#include <memory>

#include "rewards/reward_rule.hpp"

namespace aha::rewards {

class RegexPatternRule : public RewardRule {
 public:
  // Throws ConfigError naming the pattern and the offset when it does not compile.
  explicit RegexPatternRule(const RegexRule& keys);
  ~RegexPatternRule() override;
  // Flag: regex_matched.
  RuleOutcome score(const CompletionRecord& record) const override;
  bool jit_compiled() const { return jit_; }

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  RegexRule keys_;
  bool jit_ = false;
};

}  // namespace aha::rewards
