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

namespace {

BatchOutcome outcome_of(const RewardRule& rule, const CompletionRecord& record) {
  try {
    return rule.score(record);
  } catch (const std::exception& e) {
    return std::string(e.what());
  } catch (...) {
    return std::string("an exception that is not a std::exception");
  }
}

}  // namespace

std::vector<BatchOutcome> RewardRule::score_batch(std::span<const CompletionRecord> records) const {
  std::vector<BatchOutcome> out;
  for (const CompletionRecord& record : records) out.push_back(outcome_of(*this, record));
  return out;
}

ScoreRecord RewardPipeline::score(const CompletionRecord& record) const { return score_batch({record}).front(); }

std::vector<ScoreRecord> RewardPipeline::score_batch(const std::vector<CompletionRecord>& records) const {
  // outcomes[rule][record]: the batch rules fill their row in one task each, the others a cell per
  // (record, rule) in a task per record; then each record's entries are added up in entry order.
  std::vector<std::vector<BatchOutcome>> outcomes(rules_.size(), std::vector<BatchOutcome>(records.size()));
  std::vector<std::size_t> batch_rules;
  for (std::size_t i = 0; i < rules_.size(); ++i)
    if (rules_[i]->scores_batches()) batch_rules.push_back(i);
  std::latch done(static_cast<std::ptrdiff_t>(records.size() + batch_rules.size()));
  for (const std::size_t i : batch_rules)
    boost::asio::post(pool_->pool, [&, i] {
      try {
        outcomes[i] = rules_[i]->score_batch(records);
      } catch (const std::exception& e) {
        outcomes[i].assign(records.size(), std::string(e.what()));
      }
      done.count_down();
    });
  for (std::size_t r = 0; r < records.size(); ++r)
    boost::asio::post(pool_->pool, [&, r] {
      for (std::size_t i = 0; i < rules_.size(); ++i)
        if (!rules_[i]->scores_batches()) outcomes[i][r] = outcome_of(*rules_[i], records[r]);
      done.count_down();
    });
  done.wait();
  std::vector<ScoreRecord> out(records.size());
  for (std::size_t r = 0; r < records.size(); ++r) {
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      const RewardSpec& spec = specs_[i];
      RuleScore rule{spec.name, spec.failure_score, std::nullopt};
      if (auto* outcome = std::get_if<RuleOutcome>(&outcomes[i][r])) {
        rule.score = outcome->score;
        for (Flag& flag : outcome->flags)
          if (std::none_of(out[r].flags.begin(), out[r].flags.end(),
                           [&](const Flag& f) { return f.name == flag.name; }))
            out[r].flags.push_back(std::move(flag));
      } else {
        rule.error = std::get<std::string>(outcomes[i][r]);
        errors_[i].fetch_add(1, std::memory_order_relaxed);
      }
      out[r].total += spec.weight * rule.score;
      out[r].rules.push_back(std::move(rule));
    }
  }
  return out;
}

std::vector<std::int64_t> RewardPipeline::error_counts() const {
  std::vector<std::int64_t> counts;
  for (std::size_t i = 0; i < specs_.size(); ++i) counts.push_back(errors_[i].load());
  return counts;
}

}  // namespace aha::rewards
