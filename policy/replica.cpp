// replica_of and copy_weights over the parameter and buffer names.
#include "policy/replica.hpp"

#include <torch/csrc/autograd/grad_mode.h>

namespace aha::policy {

void copy_weights(CausalLMImpl& from, CausalLMImpl& to) {
  torch::NoGradGuard no_grad;
  const auto source = from.named_parameters();
  for (auto& item : to.named_parameters()) item.value().copy_(source[item.key()]);
  const auto buffers = from.named_buffers();
  for (auto& item : to.named_buffers()) item.value().copy_(buffers[item.key()]);
}

CausalLM replica_of(CausalLMImpl& policy, bool trainable) {
  CausalLM replica(policy.config());
  const auto& weight = policy.lm_head_weight();
  replica->to(weight.device(), weight.scalar_type());
  replica->set_autocast(policy.autocast());
  const auto source = policy.named_parameters();
  for (auto& item : replica->named_parameters())
    item.value().set_requires_grad(trainable && source[item.key()].requires_grad());
  copy_weights(policy, *replica);
  if (!trainable) replica->eval();
  return replica;
}

}  // namespace aha::policy
