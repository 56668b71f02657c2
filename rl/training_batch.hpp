// Sampled sequences turned into training tensors: micro-batches packed to a token budget, right
// padded, with the positions whose log-probs the loss needs (each completion token is predicted
// by the hidden state one position before it). Beginnings that rows share (the prompt of a GRPO
// group, the template of SFT prompts) are laid out once, so the forward computes them once.
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

// Rows split into a shared prefix and their own suffix. Rows with the same prefix index share its
// tokens; the suffix (the rest of the prompt, then the completion) attends to the prefix's keys
// and values through the KV cache.
struct PrefixLayout {
  at::Tensor prefix_ids, prefix_mask;  // [prefixes, longest_prefix] int64, left-padded
  at::Tensor suffix_ids, suffix_mask;  // [rows, longest_suffix] int64, right-padded
  at::Tensor prefix_of_row;            // [rows] int64
  at::Tensor prefix_weight;            // [prefixes * longest_prefix] float: rows sharing each real token
  // [tokens] index into [rows] (the prefix's last hidden state, per row) followed by
  // [rows * longest_suffix] (the suffix hidden states): the positions predicting each target.
  at::Tensor hidden_index;
  // Routing recorded at sampling, per MoE layer, for the prefix pass [prefixes * longest_prefix, k]
  // and the suffix pass [rows * longest_suffix, k], with which positions were recorded (bool).
  std::vector<at::Tensor> prefix_replay, suffix_replay;
  at::Tensor prefix_known, suffix_known;
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
  // The same rows with their shared beginning once; undefined (prefix_ids) when they share too little.
  PrefixLayout shared;
};

// Splits `sequences` (in order) into micro-batches of at most `token_budget` padded tokens each
// (rows * longest sequence); a sequence longer than the budget gets a micro-batch of its own.
// Consecutive rows with the same prompt share it as their prefix; rows whose prompts all differ
// share their longest common beginning when it is at least `min_shared_prefix` tokens (0: never).
// `parts` > 1: the sequences are first cut, where the prompt changes, into up to that many runs
// of about equal work, each packed on its own (so that many threads get a share each). The
// tensors are made on `device`.
std::vector<MicroBatch> pack_micro_batches(const std::vector<TrainingSequence>& sequences, int64_t token_budget,
                                           int64_t pad_id, int64_t min_shared_prefix = 16, int parts = 1,
                                           const at::Device& device = at::kCPU);

}  // namespace aha::rl
