// The reflection rule and its keys.
#include "rewards/reflection_rule.hpp"

namespace aha::rewards {

const std::vector<std::string>& default_reflection_phrases() {
  static const std::vector<std::string> phrases{
      "wait",        "recheck",       "re-check",  "rethink",       "re-evaluate", "reconsider", "double-check",
      "check again", "let me verify", "try again", "alternatively", "等等",        "重新",       "检查一下"};
  return phrases;
}

void bind_keys(config::Binder& b, ReflectionKeys& keys) {
  b.texts({"phrases", "phrases counted as reflection, matched case-insensitively at word boundaries"}, keys.phrases,
          default_reflection_phrases());
  b.boolean({"log_only", "true: only log the counts; false: score 1 when a completion reflects at least once"},
            keys.log_only, true);
}

RuleOutcome ReflectionRule::score(const CompletionRecord& record) const {
  const std::int64_t count = phrases_.count(record.completion);
  const std::int64_t reflects = count > 0 ? 1 : 0;
  return {log_only_ ? 0.0 : static_cast<double>(reflects), {{"reflection_count", count}, {"reflects", reflects}}};
}

}  // namespace aha::rewards
