// The reward rules by name, in one table: a row per rule gives its name (the value of a [[reward]]
// entry's `rule` key), its doc string, how to bind its keys and how to make its scorer. Reading,
// writing and documenting [[reward]] entries and building the pipeline's rules all go through it.
//
// Adding a rule "name":
//   1. rewards/name_rule.{hpp,cpp}: the keys struct NameKeys with
//      `void bind_keys(config::Binder&, NameKeys&)`, and the scorer NameRule, a RewardRule made from
//      a `const NameKeys&`; list the .cpp in rewards/CMakeLists.txt;
//   2. NameKeys as an alternative of RuleKeys (rewards/reward_spec.hpp);
//   3. its row in rule_registry.cpp, at the position of its alternative in RuleKeys (a static_assert
//      there checks);
//   4. scripts/update-config-docs.sh regenerates docs/config.md; docs/rewards.md describes the rule.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string_view>
#include <variant>

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"
#include "rewards/reward_spec.hpp"

namespace aha::rewards {

struct RuleEntry {
  std::string_view name;  // the value of the `rule` key, and the entry's name unless it sets one
  std::string_view doc;   // what the rule scores, for `aha config docs`
  // Makes `keys` hold this rule's keys (their defaults, unless it already did) and binds them.
  void (*bind_keys)(config::Binder& b, RuleKeys& keys);
  // Makes the scorer from `keys`, which hold this rule's keys. Throws ConfigError when they cannot
  // make one (a regex that does not compile).
  std::unique_ptr<RewardRule> (*make_rule)(const RuleKeys& keys);
};

inline constexpr std::size_t rule_count = std::variant_size_v<RuleKeys>;

// Every rule, in the order of RuleKeys' alternatives: an entry's row is rule_registry()[keys.index()].
const std::array<RuleEntry, rule_count>& rule_registry();

// The scorer of an entry. Throws ConfigError when the entry's keys cannot make one (a regex that
// does not compile).
std::unique_ptr<RewardRule> make_reward_rule(const RewardSpec& spec);

}  // namespace aha::rewards
