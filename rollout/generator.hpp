// Batched generation of G completions per prompt with the KV cache: the prompts are prefilled
// once (left-padded), the cache is repeated G times, and every row decodes until EOS, a stop
// string or max_new_tokens. Each completion keeps its tokens, the log-prob of each token
// (computed by the trainer's own function, policy::token_logprobs) and why it ended.
#pragma once

#include <ATen/core/Generator.h>

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "policy/transformer.hpp"
#include "rollout/sampler.hpp"

namespace aha::rollout {

enum class FinishReason { stop, length };

struct Completion {
  std::vector<int64_t> tokens;
  std::vector<float> logprobs;  // log p(token | prefix) under the temperature-scaled distribution
  FinishReason finish = FinishReason::length;
};

struct GenerationSettings {
  SamplingParams sampling;
  int max_new_tokens = 512;
  std::vector<int64_t> eos_ids;
  int64_t pad_id = 0;
  std::vector<std::string> stop;  // a completion ends once its text contains one of these
};

// Turns token ids back into text, for stop strings.
using Detokenize = std::function<std::string(std::span<const int64_t>)>;

// Returns prompts.size() * group_size completions: those of prompt 0 first, then prompt 1, ...
std::vector<Completion> generate(policy::CausalLMImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                 int group_size, const GenerationSettings& settings, at::Generator& generator,
                                 const Detokenize& detokenize = {});

}  // namespace aha::rollout
