// The reflection rule.
#include "rewards/reflection_rule.hpp"

namespace aha::rewards {

RuleOutcome ReflectionRuleScorer::score(const CompletionRecord& record) const {
  const std::int64_t count = phrases_.count(record.completion);
  const std::int64_t reflects = count > 0 ? 1 : 0;
  return {log_only_ ? 0.0 : static_cast<double>(reflects), {{"reflection_count", count}, {"reflects", reflects}}};
}

}  // namespace aha::rewards
