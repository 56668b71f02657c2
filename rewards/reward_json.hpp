// JSON for the reward records: one input line of `aha reward` to a CompletionRecord, and a
// ScoreRecord to {"total": x, "rules": {...}, "flags": {...}}.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "rewards/reward_records.hpp"

namespace aha::rewards {

// {"completion": str, "answer": str?, "tests": str?, "entry_point": str?, "language": str?,
//  "completion_tokens": int?}; a numeric answer is taken as its JSON text; other keys are
// ignored. Throws Error saying what is wrong.
CompletionRecord completion_from_json(std::string_view line);

nlohmann::ordered_json score_to_json(const ScoreRecord& score);
// The inverse of score_to_json: the same rules, flags (with their types) and errors, in order.
ScoreRecord score_from_json(const nlohmann::ordered_json& json);

}  // namespace aha::rewards
