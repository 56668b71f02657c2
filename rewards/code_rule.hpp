// rule = "code": runs the completion's program with the record's tests in the sandbox; the score
// is the share of tests passed, or 1/0 with scoring = "all_or_nothing". At most max_parallel
// programs run at once across the threads that call score(). Also its [[reward]] keys.
#pragma once

#include <memory>
#include <semaphore>
#include <string>

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

enum class CodeLanguage { python, cpp };
enum class CodeScoring { fraction, all_or_nothing };
struct CodeKeys {
  CodeLanguage language = CodeLanguage::python;
  CodeScoring scoring = CodeScoring::fraction;
  double timeout_s = 10.0;
  int memory_mb = 1024;
  int max_parallel = 0;  // 0: two per core
  int max_processes = 64;
  int max_output_kb = 1024;
  std::string python = "/usr/bin/python3";
  std::string compiler = "/usr/bin/g++";
};

void bind_keys(config::Binder& b, CodeKeys& keys);

// max_parallel, or with 0 twice the cores: each run is a judge and a candidate that mostly wait
// on each other (starting up, then one call at a time), so two runs per core keep it busy.
int code_runs_at_once(const CodeKeys& keys);

class CodeRule : public RewardRule {
 public:
  explicit CodeRule(const CodeKeys& keys);
  // Flags: tests_passed, tests_total, tests_completed (the marker after the tests was seen).
  // Throws Error when the record has no tests and no entry_point.
  RuleOutcome score(const CompletionRecord& record) const override;

 private:
  CodeKeys keys_;
  std::unique_ptr<std::counting_semaphore<>> slots_;
};

}  // namespace aha::rewards
