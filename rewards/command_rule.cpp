// The command rule: requests as JSON lines, replies read back, the program restarted when it fails.
#include "rewards/command_rule.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "rewards/scorer_process.hpp"

namespace aha::rewards {

void bind_keys(config::Binder& b, CommandKeys& keys) {
  b.texts({"command", "the scoring program and its arguments, e.g. [\"python3\", \"my_reward.py\"] (looked up on "
                      "PATH, relative paths from the working folder); docs/rewards.md shows the protocol"},
          keys.command, {});
  b.number({"timeout_s", "seconds the program has to answer one batch; past them the records it did not answer "
                         "get failure_score and it is started again"},
           keys.timeout_s, 60.0, {0.0, 86400.0, true, false});
}

CommandRule::CommandRule(const CommandKeys& keys) : keys_(keys) {
  if (keys_.command.empty())
    throw ConfigError("rule = \"command\" needs command = [\"program\", \"argument\", ...], the scoring program");
  try {
    process_ = std::make_unique<ScorerProcess>(keys_.command);
  } catch (const Error& e) {
    throw ConfigError(fmt::format("command: {}", e.what()));
  }
}

CommandRule::~CommandRule() = default;

std::string scorer_request(const CompletionRecord& record) {
  nlohmann::json request = nlohmann::json::object();
  if (!record.fields.empty()) {
    const auto fields = nlohmann::json::parse(record.fields, nullptr, false);
    if (fields.is_object()) request = fields;
  }
  if (record.answer) request["answer"] = *record.answer;
  request["prompt"] = record.prompt;
  request["completion"] = record.completion;
  if (record.completion_tokens) request["completion_tokens"] = *record.completion_tokens;
  return request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

RuleOutcome scorer_reply(const std::string& line) {
  const auto reply = nlohmann::json::parse(line, nullptr, false);
  const auto quoted = [&] { return line.size() > 120 ? line.substr(0, 120) + "..." : line; };
  if (reply.is_number()) return {reply.get<double>(), {}};
  if (!reply.is_object() || !reply.contains("score") || !reply["score"].is_number())
    throw Error(
        fmt::format("the scoring program replied `{}`: expected a number or {{\"score\": number, ...}}", quoted()));
  RuleOutcome outcome{reply["score"].get<double>(), {}};
  for (const auto& [name, value] : reply.items()) {
    if (name == "score") continue;
    if (value.is_boolean()) outcome.flags.push_back({name, value.get<bool>()});
    else if (value.is_number_integer()) outcome.flags.push_back({name, value.get<std::int64_t>()});
    else if (value.is_number()) outcome.flags.push_back({name, value.get<double>()});
    else if (value.is_string()) outcome.flags.push_back({name, value.get<std::string>()});
    else
      throw Error(fmt::format("the scoring program replied `{}`: flag \"{}\" must be a boolean, number or string",
                              quoted(), name));
  }
  return outcome;
}

RuleOutcome CommandRule::score(const CompletionRecord& record) const {
  BatchOutcome outcome = score_batch({&record, 1}).front();
  if (auto* error = std::get_if<std::string>(&outcome)) throw Error(*error);
  return std::get<RuleOutcome>(std::move(outcome));
}

std::vector<BatchOutcome> CommandRule::score_batch(std::span<const CompletionRecord> records) const {
  std::vector<std::string> requests;
  for (const CompletionRecord& record : records) requests.push_back(scorer_request(record));
  std::lock_guard lock(mutex_);
  if (!process_->alive()) process_ = std::make_unique<ScorerProcess>(keys_.command);
  const ScorerProcess::Exchange exchange = process_->exchange(requests, keys_.timeout_s);
  std::vector<BatchOutcome> out;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i >= exchange.replies.size()) {
      out.emplace_back(exchange.failure);
      continue;
    }
    try {
      out.emplace_back(scorer_reply(exchange.replies[i]));
    } catch (const Error& e) {
      out.emplace_back(std::string(e.what()));
    }
  }
  return out;
}

}  // namespace aha::rewards
