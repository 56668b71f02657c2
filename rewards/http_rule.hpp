// rule = "http": completions scored by a server (a reward model, a verifier service) over HTTP.
// Each batch is cut into requests of batch_size records, at most `concurrency` in flight; each is
// a POST of a JSON array of the records the command rule sends (rewards/command_rule.hpp) and
// its reply a JSON array with one number or {"score": x, ...} per record, in order. A request
// that fails (no connection, a status other than 200, past timeout_s, a reply it cannot read) is
// tried again up to `retries` times; then its records fail. Also its [[reward]] keys.
#pragma once

#include <string>
#include <vector>

#include "core/config_binder.hpp"
#include "rewards/reward_rule.hpp"

namespace aha::rewards {

struct HttpKeys {
  std::string url;          // http://host:port/path
  double timeout_s = 60.0;  // for one request
  int retries = 2;
  int batch_size = 64;     // records per request
  int concurrency = 4;     // requests in flight at once
  std::string token_file;  // a bearer token for the server ("": none)
};

void bind_keys(config::Binder& b, HttpKeys& keys);

class HttpRule : public RewardRule {
 public:
  // Throws ConfigError for a URL that is not http://host:port/path or an unreadable token file.
  explicit HttpRule(const HttpKeys& keys);
  RuleOutcome score(const CompletionRecord& record) const override;
  bool scores_batches() const override { return true; }
  std::vector<BatchOutcome> score_batch(std::span<const CompletionRecord> records) const override;

 private:
  // The outcomes of one request's records, or its failure for each after the retries.
  std::vector<BatchOutcome> post(std::span<const CompletionRecord> records) const;

  HttpKeys keys_;
  std::string host_, port_, path_, token_;
};

}  // namespace aha::rewards
