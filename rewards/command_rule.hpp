// rule = "command": a user's program in any language scores completions, without recompiling aha.
// It is started once and kept running. For each batch it reads one JSON object per line on its
// standard input (the data record's fields, then "prompt", "completion" and "completion_tokens")
// and writes one line per record on its standard output, in order: a number, or an object
// {"score": x, ...} whose other fields become flags ("correct": true counts towards accuracy).
// A reply it cannot read fails that record; a program that dies or passes timeout_s fails the
// records it did not answer, and is started again for the next batch. Also its [[reward]] keys.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

struct CommandKeys {
  std::vector<std::string> command;  // argv, e.g. ["python3", "my_reward.py"]
  double timeout_s = 60.0;           // for one batch
};

void bind_keys(config::Binder& b, CommandKeys& keys);

class ScorerProcess;

class CommandRule : public RewardRule {
 public:
  // Starts the program; throws ConfigError when the command is empty or cannot start.
  explicit CommandRule(const CommandKeys& keys);
  ~CommandRule() override;
  RuleOutcome score(const CompletionRecord& record) const override;
  bool scores_batches() const override { return true; }
  std::vector<BatchOutcome> score_batch(std::span<const CompletionRecord> records) const override;

 private:
  CommandKeys keys_;
  mutable std::mutex mutex_;  // one batch at a time goes through the program
  mutable std::unique_ptr<ScorerProcess> process_;
};

// The line a scoring program reads for `record`, and the outcome its reply line gives (throws
// aha::Error saying what is wrong with the reply).
std::string scorer_request(const CompletionRecord& record);
RuleOutcome scorer_reply(const std::string& line);

}  // namespace aha::rewards
