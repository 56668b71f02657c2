// The interface every reward rule implements. rewards/rule_registry.hpp makes one from its
// [[reward]] entry.
#pragma once

#include <span>
#include <string>
#include <variant>
#include <vector>

#include "rewards/reward_records.hpp"

namespace aha::rewards {

// A batch rule's verdict on one completion: its outcome, or why it has none (the pipeline then
// uses the entry's failure_score).
using BatchOutcome = std::variant<RuleOutcome, std::string>;

class RewardRule {
 public:
  virtual ~RewardRule() = default;
  // Scores one completion; throws (aha::Error or anything else) when the rule cannot, and the
  // pipeline then uses the entry's failure_score. Called from several threads at once.
  virtual RuleOutcome score(const CompletionRecord& record) const = 0;
  // Rules that talk to one program or server score a whole batch in one exchange: the pipeline
  // then calls score_batch once per batch (one element per record, in order) instead of score.
  virtual bool scores_batches() const { return false; }
  virtual std::vector<BatchOutcome> score_batch(std::span<const CompletionRecord> records) const;
};

}  // namespace aha::rewards
