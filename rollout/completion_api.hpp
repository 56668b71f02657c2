// The wire format of the rollout service: the subset of OpenAI's /v1/completions that rollouts
// need, plus aha's extensions (a per-request seed and weight version, token ids and the recorded
// MoE routing in each choice). Requests are parsed with a clear message for every bad field;
// parsing never touches tensors.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aha::rollout {

// A request the server refuses: the HTTP status and why.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct CompletionRequest {
  // Either token-id prompts or text prompts (the worker tokenizes those).
  std::vector<std::vector<int64_t>> prompt_ids;
  std::vector<std::string> prompt_texts;
  int n = 1;            // completions per prompt
  int max_tokens = 16;  // OpenAI's default
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;                // vLLM's extension; 0: off
  double min_p = 0.0;           // vLLM's extension
  std::optional<int> logprobs;  // any value returns the sampled tokens' log-probs
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
  std::optional<int64_t> weight_version;  // aha: refuse (409) unless the worker holds this version
  bool return_routing = false;            // aha: the experts every MoE layer chose
};

// Throws ApiError(400) naming the field that is wrong.
CompletionRequest parse_completion_request(const std::string& body);
nlohmann::json to_json(const CompletionRequest& request);

struct CompletionChoice {
  std::string text;
  std::vector<int64_t> token_ids;
  std::vector<float> token_logprobs;
  bool stopped = false;  // finish_reason "stop", else "length"
  // [MoE layers, tokens, k] int16, row-major, when routing was asked for.
  std::vector<int64_t> routing_shape;
  std::vector<int16_t> routing;
};

struct CompletionResponse {
  std::optional<int64_t> weight_version;  // aha workers report it; other servers may not
  std::vector<CompletionChoice> choices;  // prompt-major: choice i belongs to prompt i / n
};

nlohmann::json to_json(const CompletionResponse& response, const std::string& model, int64_t prompt_tokens);
// Throws std::runtime_error naming what a response lacks (a choice without token ids: ask the
// server for them, e.g. vLLM's return_token_ids).
CompletionResponse parse_completion_response(const std::string& body);

}  // namespace aha::rollout
