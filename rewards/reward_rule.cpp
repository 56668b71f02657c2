// The factory from [[reward]] entries to rules.
#include "rewards/reward_rule.hpp"

#include "rewards/code_rule.hpp"
#include "rewards/format_rule.hpp"
#include "rewards/language_rule.hpp"
#include "rewards/length_rule.hpp"
#include "rewards/math_rule.hpp"
#include "rewards/reflection_rule.hpp"
#include "rewards/regex_rule.hpp"
#include "rewards/repetition_rule.hpp"

namespace aha::rewards {

namespace {

struct RuleMaker {
  std::unique_ptr<RewardRule> operator()(const MathRule& k) const { return std::make_unique<MathAnswerRule>(k); }
  std::unique_ptr<RewardRule> operator()(const CodeRule& k) const { return std::make_unique<CodeExecutionRule>(k); }
  std::unique_ptr<RewardRule> operator()(const FormatRule& k) const { return std::make_unique<FormatTemplateRule>(k); }
  std::unique_ptr<RewardRule> operator()(const ReflectionRule& k) const {
    return std::make_unique<ReflectionRuleScorer>(k);
  }
  std::unique_ptr<RewardRule> operator()(const LanguageRule& k) const {
    return std::make_unique<LanguageConsistencyRule>(k);
  }
  std::unique_ptr<RewardRule> operator()(const LengthRule& k) const { return std::make_unique<LengthShapingRule>(k); }
  std::unique_ptr<RewardRule> operator()(const RepetitionRule& k) const {
    return std::make_unique<RepetitionPenaltyRule>(k);
  }
  std::unique_ptr<RewardRule> operator()(const RegexRule& k) const { return std::make_unique<RegexPatternRule>(k); }
};

}  // namespace

std::unique_ptr<RewardRule> make_reward_rule(const RewardSpec& spec) { return std::visit(RuleMaker{}, spec.keys); }

}  // namespace aha::rewards
