// rule = "regex": a user's PCRE2 pattern searched in the completion under a match limit (and JIT
// compiled where PCRE2 has a JIT), so that no pattern can hang the run: `score` when it matches,
// else 0. A search that hits the limit is a rule failure (failure_score, counted). Also its
// [[reward]] keys.
#pragma once

#include <memory>
#include <string>

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

struct RegexKeys {
  std::string pattern;
  double score = 1.0;
  int match_limit = 1000000;  // PCRE2 match and depth limit
};

void bind_keys(config::Binder& b, RegexKeys& keys);

class RegexRule : public RewardRule {
 public:
  // Throws ConfigError naming the pattern and the offset when it does not compile.
  explicit RegexRule(const RegexKeys& keys);
  ~RegexRule() override;
  // Flag: regex_matched.
  RuleOutcome score(const CompletionRecord& record) const override;
  bool jit_compiled() const { return jit_; }

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  RegexKeys keys_;
  bool jit_ = false;
};

}  // namespace aha::rewards
