// The table of reward rules.
#include "rewards/rule_registry.hpp"

#include <utility>

namespace aha::rewards {

namespace {

template <class Keys>
void bind_rule_keys(config::Binder& b, RuleKeys& keys) {
  bind_keys(b, config::ensure_alternative<Keys>(keys));
}

template <class Keys, class Rule>
std::unique_ptr<RewardRule> make_rule(const RuleKeys& keys) {
  return std::make_unique<Rule>(std::get<Keys>(keys));
}

template <class Keys, class Rule>
constexpr RuleEntry row(std::string_view name, std::string_view doc) {
  return {name, doc, &bind_rule_keys<Keys>, &make_rule<Keys, Rule>};
}

constexpr std::array<RuleEntry, rule_count> rules{
    row<MathKeys, MathRule>("math", "the answer (in <answer>, \\boxed{}, #### N or \"the answer is\") equals the "
                                    "reference answer: 1, else 0"),
    row<CodeKeys, CodeRule>("code", "the program passes the tests in a sandbox"),
    row<FormatKeys, FormatRule>("format", "the completion is <think>…</think> <answer>…</answer>: 1, else 0"),
    row<ReflectionKeys, ReflectionRule>("reflection", "counts reflection phrases (the aha moment)"),
    row<LanguageKeys, LanguageRule>("language", "share of the thinking written in its dominant script"),
    row<LengthKeys, LengthRule>("length", "penalises or shapes completion length"),
    row<RepetitionKeys, RepetitionRule>("repetition", "penalises repeated n-grams"),
    row<RegexKeys, RegexRule>("regex", "a user pattern that scores when it matches"),
    row<CommandKeys, CommandRule>("command", "a program of the user's, kept running, scores each batch: JSON lines "
                                             "in, a score (and flags) per line out"),
    row<HttpKeys, HttpRule>("http", "a server scores batches: a JSON array of records POSTed, a JSON array of "
                                    "scores back"),
};

template <std::size_t... alternative>
constexpr bool rows_follow_alternatives(std::index_sequence<alternative...>) {
  return ((rules[alternative].bind_keys == &bind_rule_keys<std::variant_alternative_t<alternative, RuleKeys>>)&&...);
}
static_assert(rows_follow_alternatives(std::make_index_sequence<rule_count>()),
              "the table has one row per alternative of RuleKeys, in the same order");

}  // namespace

const std::array<RuleEntry, rule_count>& rule_registry() { return rules; }

std::unique_ptr<RewardRule> make_reward_rule(const RewardSpec& spec) {
  return rules[spec.keys.index()].make_rule(spec.keys);
}

}  // namespace aha::rewards
