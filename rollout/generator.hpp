// Batched generation of G completions per prompt with the KV cache: the prompts are prefilled
// once (left-padded), the cache is repeated G times, and every row decodes until EOS, a stop
// string or max_new_tokens; finished rows leave the batch. Each completion keeps its tokens, the
// log-prob of each token (the products and kernel of the trainer's policy::token_logprobs), why
// it ended, and, when asked, the experts every MoE layer chose for each token it processed.
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
  // [MoE layers, prompt + completion tokens - 1, k] int16: the experts chosen for every token the
  // model processed (the last sampled token never is). Undefined unless routing was recorded.
  at::Tensor routing;
};

struct GenerationSettings {
  SamplingParams sampling;
  int max_new_tokens = 512;
  std::vector<int64_t> eos_ids;
  int64_t pad_id = 0;
  std::vector<std::string> stop;  // a completion ends once its text contains one of these
  bool record_routing = false;    // keep Completion::routing (MoE models)
};

// Turns token ids back into text, for stop strings.
using Detokenize = std::function<std::string(std::span<const int64_t>)>;

// Returns prompts.size() * group_size completions: those of prompt 0 first, then prompt 1, ...
std::vector<Completion> generate(policy::CausalLMImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                 int group_size, const GenerationSettings& settings, at::Generator& generator,
                                 const Detokenize& detokenize = {});

}  // namespace aha::rollout
