// Sampled sequences turned into training tensors: micro-batches packed to a token budget, right
// padded, with the positions whose log-probs the loss needs (each completion token is predicted
// by the hidden state one position before it).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace aha::rl {

// One prompt + completion as the trainer sees it.
struct TrainingSequence {
  std::vector<int64_t> prompt;
  std::vector<int64_t> completion;
  std::vector<float> sampling_logprobs;  // recorded at sampling, one per completion token
  double advantage = 0.0;
  bool in_loss = true;  // false: masked out (a truncated completion under mask_truncated)
  at::Tensor routing;   // [MoE layers, prompt + completion - 1, k] experts chosen at sampling; may be undefined
};

struct MicroBatch {
  at::Tensor input_ids;       // [rows, longest] int64, right-padded
  at::Tensor attention_mask;  // [rows, longest] int64
  at::Tensor hidden_index;    // [tokens] flat index into [rows * longest] of the predicting positions
  at::Tensor targets;         // [tokens] the completion tokens
  at::Tensor row, column;     // [tokens] where each token lands in [rows, longest_completion]
  at::Tensor mask;            // [rows, longest_completion] float: 1 for tokens in the loss
  at::Tensor sampling_logp;   // [rows, longest_completion] float
  at::Tensor advantages;      // [rows] float
  // Routing recorded at sampling, when every sequence has it: per MoE layer [rows * longest, k]
  // int64, and which of those positions were recorded [rows * longest] bool. Padding and each
  // sequence's last token get experts 0..k-1: no loss reads their outputs.
  std::vector<at::Tensor> replay;
  at::Tensor replay_known;
};

// The micro-batch's tensors on `device`.
MicroBatch to_device(const MicroBatch& mb, const at::Device& device);

// Splits `sequences` (in order) into micro-batches of at most `token_budget` padded tokens each
// (rows * longest sequence); a sequence longer than the budget gets a micro-batch of its own.
std::vector<MicroBatch> pack_micro_batches(const std::vector<TrainingSequence>& sequences, int64_t token_budget,
                                           int64_t pad_id);

}  // namespace aha::rl
