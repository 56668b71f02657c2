// Activation checkpointing: a decoder layer whose forward keeps only its input, and whose backward
// runs the layer again with gradients and back-propagates through that run. A layer then holds
// [tokens, hidden] between the passes instead of every intermediate (about 15 times less at
// Qwen2.5-0.5B's shapes), for a third more arithmetic. The second run replays the experts the
// first one chose and repeats its arithmetic, so gradients equal the plain pass's bit for bit.
#pragma once

#include "policy/attention.hpp"
#include "policy/moe.hpp"

namespace aha::policy {

class DecoderLayerImpl;

// layer.forward(x, in, a fresh cache, trace, replay) with checkpointed activations, x [batch, seq,
// hidden] or [n, hidden] as in.layout says; `trace` (MoE layers, else null) receives the router
// logits, which carry their gradient, and the experts. Only for passes that keep no KV cache.
at::Tensor checkpointed_layer(DecoderLayerImpl& layer, const at::Tensor& x, const AttentionInputs& in,
                              RouterTrace* trace, const at::Tensor& replay);

}  // namespace aha::policy
