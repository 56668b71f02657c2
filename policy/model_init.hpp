// A new model from an architecture description: config.json as a JSON object, weights drawn as
// transformers initialises them (normal(0, initializer_range) for projections and embeddings,
// ones for norms, zeros for biases and router score biases).
#pragma once

#include <nlohmann/json.hpp>

#include "policy/transformer.hpp"

namespace aha::policy {

CausalLM init_causal_lm(const nlohmann::json& config_json, uint64_t seed);

}  // namespace aha::policy
