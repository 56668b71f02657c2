// JSON reading and writing of reward records.
#include "rewards/reward_json.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace aha::rewards {

namespace {

std::optional<std::string> optional_text(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw Error(fmt::format("\"{}\" must be a string, not {}", key, it->type_name()));
  return it->get<std::string>();
}

}  // namespace

CompletionRecord completion_from_json(std::string_view line) {
  const nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
  if (object.is_discarded()) throw Error("not valid JSON");
  if (!object.is_object()) throw Error(fmt::format("expected a JSON object, got {}", object.type_name()));
  CompletionRecord record;
  auto completion = optional_text(object, "completion");
  if (!completion) throw Error("missing \"completion\" (the model's text to score)");
  record.completion = std::move(*completion);
  record.prompt = optional_text(object, "prompt").value_or("");
  record.fields = object.dump();
  if (const auto it = object.find("answer"); it != object.end() && it->is_number())
    record.answer = it->dump();  // {"answer": 42}
  else record.answer = optional_text(object, "answer");
  record.tests = optional_text(object, "tests");
  record.entry_point = optional_text(object, "entry_point");
  record.language = optional_text(object, "language");
  if (const auto it = object.find("completion_tokens"); it != object.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
      throw Error("\"completion_tokens\" must be a non-negative integer");
    record.completion_tokens = it->get<std::int64_t>();
  }
  return record;
}

nlohmann::ordered_json score_to_json(const ScoreRecord& score) {
  nlohmann::ordered_json out{
      {"total", score.total}, {"rules", nlohmann::ordered_json::object()}, {"flags", nlohmann::ordered_json::object()}};
  for (const RuleScore& rule : score.rules) out["rules"][rule.name] = rule.score;
  for (const Flag& flag : score.flags) std::visit([&](const auto& v) { out["flags"][flag.name] = v; }, flag.value);
  for (const RuleScore& rule : score.rules)
    if (rule.error) out["errors"][rule.name] = *rule.error;
  return out;
}

ScoreRecord score_from_json(const nlohmann::ordered_json& json) {
  ScoreRecord score;
  score.total = json.at("total").get<double>();
  for (const auto& [name, value] : json.at("rules").items()) {
    RuleScore rule{name, value.get<double>(), std::nullopt};
    if (json.contains("errors") && json["errors"].contains(name)) rule.error = json["errors"][name].get<std::string>();
    score.rules.push_back(std::move(rule));
  }
  for (const auto& [name, value] : json.at("flags").items()) {
    if (value.is_boolean()) score.flags.push_back({name, value.get<bool>()});
    else if (value.is_number_integer()) score.flags.push_back({name, value.get<std::int64_t>()});
    else if (value.is_number()) score.flags.push_back({name, value.get<double>()});
    else score.flags.push_back({name, value.get<std::string>()});
  }
  return score;
}

}  // namespace aha::rewards
