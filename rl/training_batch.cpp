// pack_micro_batches: greedy packing in order, then the index tensors of each micro-batch.
#include "rl/training_batch.hpp"

#include <ATen/ATen.h>

#include <algorithm>

namespace aha::rl {

namespace {

MicroBatch build(const std::vector<TrainingSequence>& all, std::size_t begin, std::size_t end, int64_t pad_id) {
  const auto rows = static_cast<int64_t>(end - begin);
  int64_t longest = 0, longest_completion = 0;
  for (std::size_t i = begin; i < end; ++i) {
    longest = std::max<int64_t>(longest, static_cast<int64_t>(all[i].prompt.size() + all[i].completion.size()));
    longest_completion = std::max<int64_t>(longest_completion, static_cast<int64_t>(all[i].completion.size()));
  }
  MicroBatch mb;
  std::vector<int64_t> ids(rows * longest, pad_id), attention(rows * longest, 0), hidden_index, targets, row, column;
  std::vector<float> mask(rows * longest_completion, 0.f), sampling(rows * longest_completion, 0.f), advantages;
  for (int64_t r = 0; r < rows; ++r) {
    const TrainingSequence& s = all[begin + r];
    const auto prompt = static_cast<int64_t>(s.prompt.size());
    std::copy(s.prompt.begin(), s.prompt.end(), ids.begin() + r * longest);
    std::copy(s.completion.begin(), s.completion.end(), ids.begin() + r * longest + prompt);
    std::fill_n(attention.begin() + r * longest, prompt + static_cast<int64_t>(s.completion.size()), 1);
    for (std::size_t t = 0; t < s.completion.size(); ++t) {
      const auto c = static_cast<int64_t>(t);
      hidden_index.push_back(r * longest + prompt + c - 1);
      targets.push_back(s.completion[t]);
      row.push_back(r);
      column.push_back(c);
      mask[r * longest_completion + c] = s.in_loss ? 1.f : 0.f;
      if (t < s.sampling_logprobs.size()) sampling[r * longest_completion + c] = s.sampling_logprobs[t];
    }
    advantages.push_back(static_cast<float>(s.advantage));
  }
  const auto longs = [](std::vector<int64_t>& v, at::IntArrayRef shape) { return at::tensor(v, at::kLong).view(shape); };
  const auto floats = [](std::vector<float>& v, at::IntArrayRef shape) { return at::tensor(v, at::kFloat).view(shape); };
  const auto tokens = static_cast<int64_t>(targets.size());
  mb.input_ids = longs(ids, {rows, longest});
  mb.attention_mask = longs(attention, {rows, longest});
  mb.hidden_index = longs(hidden_index, {tokens});
  mb.targets = longs(targets, {tokens});
  mb.row = longs(row, {tokens});
  mb.column = longs(column, {tokens});
  mb.mask = floats(mask, {rows, longest_completion});
  mb.sampling_logp = floats(sampling, {rows, longest_completion});
  mb.advantages = floats(advantages, {rows});
  const bool recorded = std::all_of(all.begin() + static_cast<std::ptrdiff_t>(begin),
                                    all.begin() + static_cast<std::ptrdiff_t>(end),
                                    [](const TrainingSequence& s) { return s.routing.defined(); });
  if (recorded) {
    const int64_t layers = all[begin].routing.size(0), k = all[begin].routing.size(2);
    at::Tensor replay = at::arange(k, at::kLong).expand({layers, rows, longest, k}).contiguous();
    at::Tensor known = at::zeros({rows, longest}, at::kBool);
    for (int64_t r = 0; r < rows; ++r) {
      const at::Tensor& routing = all[begin + r].routing;  // [layers, n, k]
      replay.select(1, r).narrow(1, 0, routing.size(1)).copy_(routing);
      known.select(0, r).narrow(0, 0, routing.size(1)).fill_(true);
    }
    for (int64_t l = 0; l < layers; ++l) mb.replay.push_back(replay.select(0, l).reshape({rows * longest, k}));
    mb.replay_known = known.reshape({rows * longest});
  }
  return mb;
}

}  // namespace

MicroBatch to_device(const MicroBatch& mb, const at::Device& device) {
  MicroBatch out;
  const auto move = [&](const at::Tensor& t) { return t.defined() ? t.to(device) : t; };
  out.input_ids = move(mb.input_ids);
  out.attention_mask = move(mb.attention_mask);
  out.hidden_index = move(mb.hidden_index);
  out.targets = move(mb.targets);
  out.row = move(mb.row);
  out.column = move(mb.column);
  out.mask = move(mb.mask);
  out.sampling_logp = move(mb.sampling_logp);
  out.advantages = move(mb.advantages);
  for (const auto& layer : mb.replay) out.replay.push_back(move(layer));
  out.replay_known = move(mb.replay_known);
  return out;
}

std::vector<MicroBatch> pack_micro_batches(const std::vector<TrainingSequence>& sequences, int64_t token_budget,
                                           int64_t pad_id) {
  std::vector<MicroBatch> out;
  std::size_t begin = 0;
  int64_t longest = 0;
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    const auto length = static_cast<int64_t>(sequences[i].prompt.size() + sequences[i].completion.size());
    const int64_t candidate = std::max(longest, length);
    if (i > begin && candidate * static_cast<int64_t>(i - begin + 1) > token_budget) {
      out.push_back(build(sequences, begin, i, pad_id));
      begin = i;
      longest = length;
    } else {
      longest = candidate;
    }
  }
  if (begin < sequences.size()) out.push_back(build(sequences, begin, sequences.size(), pad_id));
  return out;
}

}  // namespace aha::rl
