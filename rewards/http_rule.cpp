// The http rule: requests of batch_size records, `concurrency` at a time, each retried.
#include "rewards/http_rule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/error.hpp"
#include "core/http_client.hpp"
#include "rewards/command_rule.hpp"

namespace aha::rewards {

void bind_keys(config::Binder& b, HttpKeys& keys) {
  b.text({"url", "the scoring server's route, http://host:port/path; docs/rewards.md shows the protocol"}, keys.url,
         std::nullopt);
  b.number({"timeout_s", "seconds one request may take"}, keys.timeout_s, 60.0, {0.0, 86400.0, true, false});
  b.integer({"retries", "times a failed request is sent again before its records get failure_score"}, keys.retries, 2,
            {0, 100});
  b.integer({"batch_size", "records per request"}, keys.batch_size, 64, {1, 1 << 20});
  b.integer({"concurrency", "requests in flight at once"}, keys.concurrency, 4, {1, 1024});
  b.text({"token_file", "file whose first line is a bearer token for the server; empty: none"}, keys.token_file, "");
}

HttpRule::HttpRule(const HttpKeys& keys) : keys_(keys) {
  static const std::regex url(R"(^http://([^/:]+)(?::([0-9]+))?(/.*)?$)");
  std::smatch m;
  if (!std::regex_match(keys_.url, m, url))
    throw ConfigError(
        fmt::format("url = \"{}\": expected http://host:port/path (https: put a local proxy in front)", keys_.url));
  host_ = m[1];
  port_ = m[2].matched ? std::string(m[2]) : "80";
  path_ = m[3].matched ? std::string(m[3]) : "/";
  if (!keys_.token_file.empty()) {
    try {
      token_ = read_bearer_token(keys_.token_file);
    } catch (const Error& e) {
      throw ConfigError(fmt::format("token_file: {}", e.what()));
    }
  }
}

RuleOutcome HttpRule::score(const CompletionRecord& record) const {
  BatchOutcome outcome = score_batch({&record, 1}).front();
  if (auto* error = std::get_if<std::string>(&outcome)) throw Error(*error);
  return std::get<RuleOutcome>(std::move(outcome));
}

std::vector<BatchOutcome> HttpRule::post(std::span<const CompletionRecord> records) const {
  std::string body = "[";
  for (const CompletionRecord& record : records) {
    if (body.size() > 1) body += ',';
    body += scorer_request(record);
  }
  body += "]";
  std::string why;
  for (int attempt = 0; attempt <= keys_.retries; ++attempt) {
    try {
      const HttpReply reply = http_request({host_, port_}, "POST", path_, token_, body, "application/json",
                                           std::chrono::milliseconds(static_cast<int64_t>(keys_.timeout_s * 1000)));
      if (reply.status != 200) throw Error(fmt::format("status {}: {}", reply.status, reply.body.substr(0, 200)));
      const auto scores = nlohmann::json::parse(reply.body, nullptr, false);
      if (!scores.is_array() || scores.size() != records.size())
        throw Error(
            fmt::format("expected a JSON array of {} scores, got `{}`", records.size(), reply.body.substr(0, 200)));
      std::vector<BatchOutcome> out;
      for (const auto& score : scores) {
        try {
          out.emplace_back(scorer_reply(score.dump()));
        } catch (const Error& e) {
          out.emplace_back(std::string(e.what()));
        }
      }
      return out;
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  return std::vector<BatchOutcome>(records.size(), fmt::format("{} failed {} time{}: {}", keys_.url, keys_.retries + 1,
                                                               keys_.retries ? "s" : "", why));
}

std::vector<BatchOutcome> HttpRule::score_batch(std::span<const CompletionRecord> records) const {
  const auto size = static_cast<std::size_t>(keys_.batch_size);
  std::vector<std::future<std::vector<BatchOutcome>>> requests;
  std::vector<BatchOutcome> out;
  const auto collect = [&] {
    for (auto& outcome : requests.front().get()) out.push_back(std::move(outcome));
    requests.erase(requests.begin());
  };
  for (std::size_t first = 0; first < records.size(); first += size) {
    if (requests.size() == static_cast<std::size_t>(keys_.concurrency)) collect();
    requests.push_back(std::async(
        std::launch::async,
        [this, part = records.subspan(first, std::min(size, records.size() - first))] { return post(part); }));
  }
  while (!requests.empty()) collect();
  return out;
}

}  // namespace aha::rewards
