// A step's rollouts as JSON, for the checkpoint of a run that samples ahead
// (rollout.max_staleness): the steps already sampled when it was written are saved, so a resumed
// run trains on the very same batches. Tokens, log-probs and MoE routing go through the rollout
// workers' wire format, so they come back bit for bit.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "rl/step_sampling.hpp"

namespace aha::rl {

nlohmann::json to_json(const StepRollouts& rollouts);
// Throws aha::Error naming `where` and what is malformed.
StepRollouts rollouts_from_json(const nlohmann::json& json, const std::string& where);

// Several steps' rollouts, by step, as the text of sampled_ahead.json; and back ("": none).
std::string sampled_steps_json(const std::map<int64_t, StepRollouts>& steps);
std::map<int64_t, StepRollouts> sampled_steps_from_json(const std::string& text, const std::string& where);

}  // namespace aha::rl
