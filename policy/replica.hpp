// Copies of the policy that other threads run: rollout workers sample with one each, and the
// trainer's micro-batch threads each run their forward and backward on one.
#pragma once

#include "policy/transformer.hpp"

namespace aha::policy {

// A copy of `policy` on its device and dtype, with its autocast. `trainable`: each parameter
// requires a gradient when the policy's does; otherwise none does and the copy is in eval mode.
CausalLM replica_of(CausalLMImpl& policy, bool trainable);

// Copies the parameters and buffers of `from` into `to`, an architecture-equal model.
void copy_weights(CausalLMImpl& from, CausalLMImpl& to);

}  // namespace aha::policy
