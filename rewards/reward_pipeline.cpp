// The reward pipeline.
#include "rewards/reward_pipeline.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <exception>
#include <latch>
#include <thread>

#include "rewards/code_rule.hpp"
#include "rewards/rule_registry.hpp"

namespace aha::rewards {

struct RewardPipeline::Pool {
  explicit Pool(unsigned threads) : pool(threads) {}
  boost::asio::thread_pool pool;
};

RewardPipeline::RewardPipeline(std::vector<RewardSpec> specs, unsigned threads)
    : specs_(std::move(specs)), errors_(std::make_unique<std::atomic<std::int64_t>[]>(specs_.size())) {
  unsigned wanted = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  for (const RewardSpec& spec : specs_) {
    rules_.push_back(make_reward_rule(spec));
    if (const auto* code = std::get_if<CodeKeys>(&spec.keys); code && threads == 0)
      wanted = std::max(wanted, static_cast<unsigned>(code_runs_at_once(*code)));
  }
  pool_ = std::make_unique<Pool>(wanted);
}

RewardPipeline::~RewardPipeline() { pool_->pool.join(); }

ScoreRecord RewardPipeline::score(const CompletionRecord& record) const {
  ScoreRecord out;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const RewardSpec& spec = specs_[i];
    RuleScore rule{spec.name, spec.failure_score, std::nullopt};
    try {
      RuleOutcome outcome = rules_[i]->score(record);
      rule.score = outcome.score;
      for (Flag& flag : outcome.flags)
        if (std::none_of(out.flags.begin(), out.flags.end(), [&](const Flag& f) { return f.name == flag.name; }))
          out.flags.push_back(std::move(flag));
    } catch (const std::exception& e) {
      rule.error = e.what();
      errors_[i].fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
      rule.error = "an exception that is not a std::exception";
      errors_[i].fetch_add(1, std::memory_order_relaxed);
    }
    out.total += spec.weight * rule.score;
    out.rules.push_back(std::move(rule));
  }
  return out;
}

std::vector<ScoreRecord> RewardPipeline::score_batch(const std::vector<CompletionRecord>& records) const {
  std::vector<ScoreRecord> out(records.size());
  std::latch done(static_cast<std::ptrdiff_t>(records.size()));
  for (std::size_t i = 0; i < records.size(); ++i)
    boost::asio::post(pool_->pool, [&, i] {
      out[i] = score(records[i]);
      done.count_down();
    });
  done.wait();
  return out;
}

std::vector<std::int64_t> RewardPipeline::error_counts() const {
  std::vector<std::int64_t> counts;
  for (std::size_t i = 0; i < specs_.size(); ++i) counts.push_back(errors_[i].load());
  return counts;
}

}  // namespace aha::rewards
