// The policy's forward over one micro-batch: the log-prob of every completion token, and what the
// step's statistics and the router loss need beside it. The rows run in one of three layouts:
// padded rows; a shared prefix computed once whose keys and values every row attends to through
// the KV cache; or the same sharing packed without padding (when the model packs sequences).
// Which one runs never changes the numbers the loss sees beyond rounding.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

#include "policy/moe.hpp"
#include "policy/transformer.hpp"
#include "rl/training_batch.hpp"

namespace aha::rl {

class DataParallel;

struct ForwardSettings {
  double temperature = 1.0;     // logits are divided by it before the log-softmax
  bool entropy = false;         // also sum the entropy of the tokens in the loss
  bool routing_replay = false;  // MoE layers take the experts recorded at sampling
  // The routing shares of the whole step when the router loss is on, else null.
  const policy::RoutingShares* shares = nullptr;
};

struct MicroBatchForward {
  at::Tensor logp;         // [rows, longest_completion] log-probs of the completion tokens
  at::Tensor entropy_sum;  // [] summed entropy over the tokens in the loss (no gradient); with `entropy`
  at::Tensor aux_loss;     // [] router load-balancing loss; undefined for dense models or without shares
  // [] int64: recorded (token, MoE layer) pairs whose experts the pass chose differently from
  // sampling, and how many pairs were recorded.
  at::Tensor routing_differs, routing_pairs;
};

MicroBatchForward forward(policy::CausalLMImpl& model, const MicroBatch& mb, const ForwardSettings& settings);

// The routing shares of the whole step, from a forward without gradient (the routing is the same
// in the training pass, so the router loss splits exactly across micro-batches); none for a dense
// model or a zero router_aux_loss_coef. With data parallelism each rank counts the micro-batches
// it owns and the counts are summed.
std::optional<policy::RoutingShares> step_routing_shares(policy::CausalLMImpl& model,
                                                         const std::vector<MicroBatch>& micro_batches,
                                                         bool routing_replay, DataParallel* data_parallel);

}  // namespace aha::rl
