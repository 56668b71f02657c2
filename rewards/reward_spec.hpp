// One [[reward]] entry: which rule scores completions, its weight in the total, and the rule's
// own keys. The pipeline sums weight * score over the entries.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/config_binder.hpp"
#include "rewards/code_rule.hpp"
#include "rewards/command_rule.hpp"
#include "rewards/format_rule.hpp"
#include "rewards/http_rule.hpp"
#include "rewards/language_rule.hpp"
#include "rewards/length_rule.hpp"
#include "rewards/math_rule.hpp"
#include "rewards/reflection_rule.hpp"
#include "rewards/regex_rule.hpp"
#include "rewards/repetition_rule.hpp"

namespace aha::rewards {

// The keys of each rule, one alternative per rule of rewards/rule_registry.cpp, in the same order.
using RuleKeys = std::variant<MathKeys, CodeKeys, FormatKeys, ReflectionKeys, LanguageKeys, LengthKeys, RepetitionKeys,
                              RegexKeys, CommandKeys, HttpKeys>;

struct RewardSpec {
  std::string name;  // the metric's name; the rule's name unless set
  double weight = 1.0;
  double failure_score = 0.0;
  RuleKeys keys;  // the alternative held is the entry's rule
};

inline constexpr std::string_view reward_section_doc =
    "The reward rules. Each [[reward]] entry adds weight * score to a completion's reward; each rule's "
    "score is also logged under its name. A rule that fails (a crash, a timeout) gives failure_score and "
    "is counted, never stops the run.";

void bind(config::Binder& b, RewardSpec& s);

// Problems across entries (names must be unique), one message each.
std::vector<std::string> check(const std::vector<RewardSpec>& specs);

}  // namespace aha::rewards
