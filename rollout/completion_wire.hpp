// A sampled Completion to and from the wire format's CompletionChoice (routing as int16 values
// with their shape), for remote workers and for gathering completions across processes.
#pragma once

#include <string>

#include "rollout/completion_api.hpp"
#include "rollout/generator.hpp"

namespace aha::rollout {

CompletionChoice to_choice(const Completion& completion, std::string text);
// Throws std::runtime_error when the choice lacks a log-prob per token.
Completion to_completion(CompletionChoice choice);

}  // namespace aha::rollout
