// to_choice() and to_completion().
#include "rollout/completion_wire.hpp"

#include <ATen/ATen.h>

#include <stdexcept>

namespace aha::rollout {

CompletionChoice to_choice(const Completion& c, std::string text) {
  CompletionChoice choice;
  choice.text = std::move(text);
  choice.token_ids = c.tokens;
  choice.token_logprobs = c.logprobs;
  choice.stopped = c.finish == FinishReason::stop;
  if (c.routing.defined()) {
    const at::Tensor routing = c.routing.to(at::kShort).contiguous().cpu();
    choice.routing_shape = routing.sizes().vec();
    choice.routing.assign(routing.data_ptr<int16_t>(), routing.data_ptr<int16_t>() + routing.numel());
  }
  return choice;
}

Completion to_completion(CompletionChoice choice) {
  Completion c;
  c.tokens = std::move(choice.token_ids);
  c.logprobs = std::move(choice.token_logprobs);
  c.finish = choice.stopped ? FinishReason::stop : FinishReason::length;
  if (c.logprobs.size() != c.tokens.size())
    throw std::runtime_error("a completion came back without a log-prob per token");
  if (!choice.routing_shape.empty())
    c.routing = at::from_blob(choice.routing.data(), choice.routing_shape, at::kShort).clone();
  return c;
}

}  // namespace aha::rollout
