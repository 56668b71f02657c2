// Keys of a [[reward]] entry: the common ones, then those of its rule.
#include "rewards/reward_spec.hpp"

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <set>
#include <utility>

#include "core/error.hpp"
#include "rewards/rule_registry.hpp"

namespace aha::rewards {

namespace {

using config::Binder;
using config::Case;

// The values of the `rule` key, each with its rule's position in the registry (and in RuleKeys).
std::array<std::pair<std::size_t, std::string_view>, rule_count> rule_choices() {
  std::array<std::pair<std::size_t, std::string_view>, rule_count> choices;
  for (std::size_t i = 0; i < rule_count; ++i) choices[i] = {i, rule_registry()[i].name};
  return choices;
}

std::array<Case, rule_count> rule_cases(RewardSpec& s) {
  std::array<Case, rule_count> cases;
  for (std::size_t i = 0; i < rule_count; ++i) {
    const RuleEntry& entry = rule_registry()[i];
    cases[i] = {entry.name, entry.doc, [&s, &entry](Binder& b) { entry.bind_keys(b, s.keys); }};
  }
  return cases;
}

}  // namespace

void bind(Binder& b, RewardSpec& s) {
  std::size_t rule_index = s.keys.index();  // the cases below make `keys` hold the chosen rule's alternative
  const std::string rule = b.choice({"rule", "what the entry scores"}, rule_index, std::nullopt, rule_choices());
  b.text({"name", "name of the score in the metrics; empty: the rule's name"}, s.name, rule);
  b.number({"weight", "factor of this rule's score in the total reward"}, s.weight, 1.0);
  b.number({"failure_score", "score when the rule itself fails (a crash, a timeout)"}, s.failure_score, 0.0);
  b.cases("rule", rule, rule_cases(s));
}

std::vector<std::string> check(const std::vector<RewardSpec>& specs) {
  std::vector<std::string> problems;
  std::set<std::string> names;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!names.insert(specs[i].name).second)
      problems.push_back(fmt::format("reward[{}]: the name \"{}\" is used by an earlier [[reward]] entry; give "
                                     "each entry its own name",
                                     i, specs[i].name));
    if (const auto* length = std::get_if<LengthKeys>(&specs[i].keys);
        length && length->buffer_tokens >= length->max_tokens)
      problems.push_back(fmt::format("reward[{}]: buffer_tokens ({}) must be smaller than max_tokens ({})", i,
                                     length->buffer_tokens, length->max_tokens));
    if (const auto* regex = std::get_if<RegexKeys>(&specs[i].keys)) {
      try {
        const RegexRule compiled(*regex);
      } catch (const ConfigError& e) {
        problems.push_back(fmt::format("reward[{}]: {}", i, e.what()));
      }
    }
  }
  return problems;
}

}  // namespace aha::rewards
