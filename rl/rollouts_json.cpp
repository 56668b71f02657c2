// to_json(StepRollouts) and rollouts_from_json().
#include "rl/rollouts_json.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "rewards/reward_json.hpp"
#include "rollout/completion_api.hpp"
#include "rollout/completion_wire.hpp"

namespace aha::rl {

namespace {

nlohmann::json completion_json(const ScoredCompletion& s) {
  rollout::CompletionResponse wire;
  wire.choices.push_back(rollout::to_choice(s.sample, ""));
  return {{"record", s.record},
          {"prompt", s.prompt},
          {"sample", rollout::to_json(wire, "", 0)},
          {"text", s.text},
          {"score", rewards::score_to_json(s.score)},
          {"correct", s.correct ? nlohmann::json(*s.correct) : nlohmann::json()},
          {"reflections", s.reflections}};
}

ScoredCompletion completion_from_json(const nlohmann::json& j) {
  ScoredCompletion s;
  s.record = j.at("record").get<std::size_t>();
  s.prompt = j.at("prompt").get<std::vector<int64_t>>();
  auto wire = rollout::parse_completion_response(j.at("sample").dump());
  if (wire.choices.size() != 1) throw std::runtime_error("\"sample\" must hold one choice");
  s.sample = rollout::to_completion(std::move(wire.choices.front()));
  s.text = j.at("text").get<std::string>();
  s.score = rewards::score_from_json(nlohmann::ordered_json::parse(j.at("score").dump()));
  if (!j.at("correct").is_null()) s.correct = j.at("correct").get<bool>();
  s.reflections = j.at("reflections").get<int64_t>();
  return s;
}

nlohmann::json completions_json(const std::vector<ScoredCompletion>& completions) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : completions) out.push_back(completion_json(s));
  return out;
}

std::vector<ScoredCompletion> completions_from_json(const nlohmann::json& j) {
  std::vector<ScoredCompletion> out;
  for (const auto& item : j) out.push_back(completion_from_json(item));
  return out;
}

}  // namespace

nlohmann::json to_json(const StepRollouts& r) {
  return {{"kept", completions_json(r.kept)},
          {"all", completions_json(r.all)},
          {"groups", r.groups},
          {"zero_std_groups", r.zero_std_groups},
          {"rounds", r.rounds},
          {"generated_tokens", r.generated_tokens},
          {"prompts_skipped", r.prompts_skipped},
          {"weight_version", r.weight_version},
          {"rollout_seconds", r.rollout_seconds},
          {"reward_seconds", r.reward_seconds}};
}

StepRollouts rollouts_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    StepRollouts r;
    r.kept = completions_from_json(j.at("kept"));
    r.all = completions_from_json(j.at("all"));
    r.groups = j.at("groups").get<int64_t>();
    r.zero_std_groups = j.at("zero_std_groups").get<int64_t>();
    r.rounds = j.at("rounds").get<int64_t>();
    r.generated_tokens = j.at("generated_tokens").get<int64_t>();
    r.prompts_skipped = j.at("prompts_skipped").get<int64_t>();
    r.weight_version = j.at("weight_version").get<int64_t>();
    r.rollout_seconds = j.at("rollout_seconds").get<double>();
    r.reward_seconds = j.at("reward_seconds").get<double>();
    return r;
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: malformed rollouts sampled ahead: {}", where, e.what()));
  }
}

std::string sampled_steps_json(const std::map<int64_t, StepRollouts>& steps) {
  nlohmann::json saved = nlohmann::json::array();
  for (const auto& [step, rollouts] : steps) saved.push_back({{"step", step}, {"rollouts", to_json(rollouts)}});
  return saved.dump();
}

std::map<int64_t, StepRollouts> sampled_steps_from_json(const std::string& text, const std::string& where) {
  std::map<int64_t, StepRollouts> steps;
  if (text.empty()) return steps;
  try {
    for (const auto& item : nlohmann::json::parse(text))
      steps[item.at("step").get<int64_t>()] = rollouts_from_json(item.at("rollouts"), where);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: {}", where, e.what()));
  }
  return steps;
}

}  // namespace aha::rl
