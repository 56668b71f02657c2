// What a rollout worker does with a request: one model and its tokenizer serve /v1/completions
// (text or token-id prompts, n samples each, the request's sampling settings and seed, the
// sampled tokens' log-probs and, when asked, the MoE routing), /v1/weights (a safetensors body or
// a checkpoint folder on shared storage, tagged with a version) and /health. The same request and
// seed give the completions the in-process worker pool gives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "policy/tokenizer.hpp"
#include "policy/transformer.hpp"
#include "rollout/completion_api.hpp"
#include "rollout/http_server.hpp"

namespace aha::rollout {

class CompletionEngine {
 public:
  // `scratch` is a private folder where weight bodies are written before they are loaded.
  CompletionEngine(policy::CausalLM model, policy::Tokenizer tokenizer, std::string model_name,
                   std::filesystem::path scratch);

  // Throws ApiError: 400 for a prompt out of the vocabulary, 409 when the request names a weight
  // version the worker does not hold.
  CompletionResponse complete(const CompletionRequest& request);
  // Loads the tensors of a safetensors file or a checkpoint folder; the model's shapes must match.
  void load_weights(const std::filesystem::path& file_or_folder, int64_t version);
  int64_t version() const { return version_; }

  RolloutHandlers handlers();

 private:
  policy::CausalLM model_;
  policy::Tokenizer tokenizer_;
  std::string model_name_;
  std::filesystem::path scratch_;
  int64_t version_ = 0;
};

}  // namespace aha::rollout
