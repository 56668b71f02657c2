// rule = "code": runs the completion's program with the record's tests in the sandbox; the score
// is the share of tests passed, or 1/0 with scoring = "all_or_nothing". At most max_parallel
// programs run at once across the threads that call score().
#pragma once

#include <memory>
#include <semaphore>

#include "rewards/reward_rule.hpp"

namespace aha::rewards {

// max_parallel, or with 0 twice the cores: each run is a judge and a candidate that mostly wait
// on each other (starting up, then one call at a time), so two runs per core keep it busy.
int code_runs_at_once(const CodeRule& keys);

class CodeExecutionRule : public RewardRule {
 public:
  explicit CodeExecutionRule(const CodeRule& keys);
  // Flags: tests_passed, tests_total, tests_completed (the marker after the tests was seen).
  // Throws Error when the record has no tests and no entry_point.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  CodeRule keys_;
  std::unique_ptr<std::counting_semaphore<>> slots_;
};

}  // namespace aha::rewards
