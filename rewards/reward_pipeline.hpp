// The reward pipeline: the rules of an experiment's [[reward]] entries, applied to each
// completion; a batch is scored concurrently on a Boost.Asio thread pool. Each rule's score is
// kept; a rule that fails gives its failure_score and is counted, never stops the batch.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "rewards/reward_records.hpp"
#include "rewards/reward_rule.hpp"
#include "rewards/reward_spec.hpp"

namespace aha::rewards {

class RewardPipeline {
 public:
  // threads = 0: one per core, and at least as many as code programs may run at once.
  // Throws ConfigError when an entry cannot become a rule.
  explicit RewardPipeline(std::vector<RewardSpec> specs, unsigned threads = 0);
  ~RewardPipeline();

  ScoreRecord score(const CompletionRecord& record) const;
  // Same order as `records`.
  std::vector<ScoreRecord> score_batch(const std::vector<CompletionRecord>& records) const;

  const std::vector<RewardSpec>& specs() const { return specs_; }
  // How often each entry failed since the pipeline was built, in the order of specs().
  std::vector<std::int64_t> error_counts() const;

 private:
  struct Pool;
  std::vector<RewardSpec> specs_;
  std::vector<std::unique_ptr<RewardRule>> rules_;
  std::unique_ptr<std::atomic<std::int64_t>[]> errors_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace aha::rewards
