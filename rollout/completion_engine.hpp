// What a rollout worker does with a request: one model and its tokenizer serve /v1/completions
// (text or token-id prompts, n samples each, the request's sampling settings and seed, the
// sampled tokens' log-probs and, when asked, the MoE routing), /v1/weights (a safetensors body or
// a checkpoint in the worker's weights folder, tagged with a version) and /health. The same
// request and seed give the completions the in-process worker pool gives.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "policy/tokenizer.hpp"
#include "policy/transformer.hpp"
#include "rollout/completion_api.hpp"
#include "rollout/http_server.hpp"

namespace aha::rollout {

struct EngineSettings {
  std::filesystem::path scratch;  // a private folder where weight bodies are written
  // The only folder a JSON weight update may name a checkpoint in; none: bodies only.
  std::optional<std::filesystem::path> weights_dir;
  int64_t max_request_tokens = int64_t{1} << 20;  // n x (prompt + max_tokens), summed over prompts
};

class CompletionEngine {
 public:
  CompletionEngine(policy::CausalLM model, policy::Tokenizer tokenizer, std::string model_name,
                   EngineSettings settings);

  // Throws ApiError: 400 for a prompt out of the vocabulary or past the model's context, or a
  // request above max_request_tokens; 409 when the request names a weight version the worker
  // does not hold.
  CompletionResponse complete(const CompletionRequest& request);
  // Loads the tensors of a safetensors file or a checkpoint folder; the model's shapes must match
  // and every value must be finite (ApiError 400 otherwise, the model unchanged).
  void load_weights(const std::filesystem::path& file_or_folder, int64_t version);
  int64_t version() const { return version_; }

  RolloutHandlers handlers();

 private:
  std::filesystem::path checkpoint_in_weights_dir(const std::string& path) const;

  policy::CausalLM model_;
  policy::Tokenizer tokenizer_;
  std::string model_name_;
  EngineSettings settings_;
  std::atomic<int64_t> version_ = 0;  // read by /health while a request runs
};

}  // namespace aha::rollout
