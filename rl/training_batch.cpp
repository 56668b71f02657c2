// pack_micro_batches: greedy packing in order, then the index tensors of each micro-batch.
#include "rl/training_batch.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace aha::rl {

namespace {

std::size_t common_length(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  return static_cast<std::size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
}

// Rows [begin, end): runs of equal prompts share the whole prompt; otherwise all rows share their
// common beginning. Returns the prefix index and length of each row, or nothing when not worth it.
std::optional<std::pair<std::vector<int64_t>, std::vector<std::size_t>>> choose_prefixes(
    const std::vector<TrainingSequence>& all, std::size_t begin, std::size_t end, int64_t min_shared) {
  if (min_shared <= 0 || end - begin < 2) return std::nullopt;
  std::vector<int64_t> prefix_of_row;
  std::vector<std::size_t> length;
  bool repeated = false;
  for (std::size_t i = begin; i < end; ++i) {
    const bool same = i > begin && all[i].prompt == all[i - 1].prompt;
    repeated = repeated || same;
    prefix_of_row.push_back(same ? prefix_of_row.back() : (prefix_of_row.empty() ? 0 : prefix_of_row.back() + 1));
    if (!same) length.push_back(all[i].prompt.size());
  }
  if (repeated) return std::make_pair(prefix_of_row, length);
  std::size_t shared = all[begin].prompt.size();
  for (std::size_t i = begin + 1; i < end; ++i)
    shared = std::min(shared, common_length(all[begin].prompt, all[i].prompt));
  if (static_cast<int64_t>(shared) < min_shared) return std::nullopt;
  return std::make_pair(std::vector<int64_t>(end - begin, 0), std::vector<std::size_t>{shared});
}

PrefixLayout build_prefix_layout(const std::vector<TrainingSequence>& all, std::size_t begin, std::size_t end,
                                 int64_t pad_id, const std::vector<int64_t>& prefix_of_row,
                                 const std::vector<std::size_t>& prefix_length, const at::Device& device) {
  const auto on = at::TensorOptions().device(device);
  const auto rows = static_cast<int64_t>(end - begin), prefixes = static_cast<int64_t>(prefix_length.size());
  const auto longest_prefix = static_cast<int64_t>(*std::max_element(prefix_length.begin(), prefix_length.end()));
  int64_t longest_suffix = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const auto& s = all[begin + r];
    longest_suffix = std::max<int64_t>(
        longest_suffix, static_cast<int64_t>(s.prompt.size() + s.completion.size() - prefix_length[prefix_of_row[r]]));
  }
  std::vector<int64_t> prefix_ids(prefixes * longest_prefix, pad_id), prefix_mask(prefixes * longest_prefix, 0);
  std::vector<int64_t> suffix_ids(rows * longest_suffix, pad_id), suffix_mask(rows * longest_suffix, 0), hidden_index;
  std::vector<int64_t> first_row(prefixes, -1);
  for (int64_t r = 0; r < rows; ++r) {
    const auto& s = all[begin + r];
    const int64_t u = prefix_of_row[r], shared = static_cast<int64_t>(prefix_length[u]);
    if (first_row[u] < 0) {
      first_row[u] = r;
      const int64_t offset = u * longest_prefix + longest_prefix - shared;
      std::copy_n(s.prompt.begin(), shared, prefix_ids.begin() + offset);
      std::fill_n(prefix_mask.begin() + offset, shared, 1);
    }
    std::vector<int64_t> rest(s.prompt.begin() + shared, s.prompt.end());
    rest.insert(rest.end(), s.completion.begin(), s.completion.end());
    std::copy(rest.begin(), rest.end(), suffix_ids.begin() + r * longest_suffix);
    std::fill_n(suffix_mask.begin() + r * longest_suffix, static_cast<int64_t>(rest.size()), 1);
    for (std::size_t t = 0; t < s.completion.size(); ++t) {
      const int64_t predictor = static_cast<int64_t>(s.prompt.size() + t) - 1 - shared;  // position in the suffix
      hidden_index.push_back(predictor < 0 ? r : rows + r * longest_suffix + predictor);
    }
  }
  PrefixLayout layout;
  layout.prefix_ids = at::tensor(prefix_ids, on.dtype(at::kLong)).view({prefixes, longest_prefix});
  layout.prefix_mask = at::tensor(prefix_mask, on.dtype(at::kLong)).view({prefixes, longest_prefix});
  layout.suffix_ids = at::tensor(suffix_ids, on.dtype(at::kLong)).view({rows, longest_suffix});
  layout.suffix_mask = at::tensor(suffix_mask, on.dtype(at::kLong)).view({rows, longest_suffix});
  layout.prefix_of_row = at::tensor(prefix_of_row, on.dtype(at::kLong));
  layout.prefix_weight =
      (layout.prefix_mask.to(at::kFloat) * at::bincount(layout.prefix_of_row, {}, prefixes).to(at::kFloat).unsqueeze(1))
          .reshape({-1});
  layout.hidden_index = at::tensor(hidden_index, on.dtype(at::kLong));
  if (!all[begin].routing.defined()) return layout;
  const int64_t layers = all[begin].routing.size(0), k = all[begin].routing.size(2);
  at::Tensor prefix_replay =
      at::arange(k, on.dtype(at::kLong)).expand({layers, prefixes, longest_prefix, k}).contiguous();
  at::Tensor suffix_replay = at::arange(k, on.dtype(at::kLong)).expand({layers, rows, longest_suffix, k}).contiguous();
  at::Tensor prefix_known = at::zeros({prefixes, longest_prefix}, on.dtype(at::kBool));
  at::Tensor suffix_known = at::zeros({rows, longest_suffix}, on.dtype(at::kBool));
  for (int64_t r = 0; r < rows; ++r) {
    const at::Tensor& routing = all[begin + r].routing;  // [layers, n, k]
    const int64_t u = prefix_of_row[r], shared = static_cast<int64_t>(prefix_length[u]);
    if (first_row[u] == r) {
      prefix_replay.select(1, u).narrow(1, longest_prefix - shared, shared).copy_(routing.narrow(1, 0, shared));
      prefix_known.select(0, u).narrow(0, longest_prefix - shared, shared).fill_(true);
    }
    const int64_t recorded = routing.size(1) - shared;
    suffix_replay.select(1, r).narrow(1, 0, recorded).copy_(routing.narrow(1, shared, recorded));
    suffix_known.select(0, r).narrow(0, 0, recorded).fill_(true);
  }
  for (int64_t l = 0; l < layers; ++l) {
    layout.prefix_replay.push_back(prefix_replay.select(0, l).reshape({prefixes * longest_prefix, k}));
    layout.suffix_replay.push_back(suffix_replay.select(0, l).reshape({rows * longest_suffix, k}));
  }
  layout.prefix_known = prefix_known.reshape({-1});
  layout.suffix_known = suffix_known.reshape({-1});
  return layout;
}

MicroBatch build(const std::vector<TrainingSequence>& all, std::size_t begin, std::size_t end, int64_t pad_id,
                 int64_t min_shared, const at::Device& device) {
  const auto on = at::TensorOptions().device(device);
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
  const auto longs = [&](std::vector<int64_t>& v, at::IntArrayRef shape) {
    return at::tensor(v, on.dtype(at::kLong)).view(shape);
  };
  const auto floats = [&](std::vector<float>& v, at::IntArrayRef shape) {
    return at::tensor(v, on.dtype(at::kFloat)).view(shape);
  };
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
    at::Tensor replay = at::arange(k, on.dtype(at::kLong)).expand({layers, rows, longest, k}).contiguous();
    at::Tensor known = at::zeros({rows, longest}, on.dtype(at::kBool));
    for (int64_t r = 0; r < rows; ++r) {
      const at::Tensor& routing = all[begin + r].routing;  // [layers, n, k]
      replay.select(1, r).narrow(1, 0, routing.size(1)).copy_(routing);
      known.select(0, r).narrow(0, 0, routing.size(1)).fill_(true);
    }
    for (int64_t l = 0; l < layers; ++l) mb.replay.push_back(replay.select(0, l).reshape({rows * longest, k}));
    mb.replay_known = known.reshape({rows * longest});
  }
  if (const auto prefixes = choose_prefixes(all, begin, end, min_shared))
    mb.shared = build_prefix_layout(all, begin, end, pad_id, prefixes->first, prefixes->second, device);
  return mb;
}

// Greedy packing of sequences [begin, end) in order, appended to `out`.
void pack_run(const std::vector<TrainingSequence>& sequences, std::size_t begin, std::size_t end, int64_t token_budget,
              int64_t pad_id, int64_t min_shared_prefix, const at::Device& device, std::vector<MicroBatch>& out) {
  std::size_t first = begin;
  int64_t longest = 0;
  for (std::size_t i = begin; i < end; ++i) {
    const auto length = static_cast<int64_t>(sequences[i].prompt.size() + sequences[i].completion.size());
    const int64_t candidate = std::max(longest, length);
    if (i > first && candidate * static_cast<int64_t>(i - first + 1) > token_budget) {
      out.push_back(build(sequences, first, i, pad_id, min_shared_prefix, device));
      first = i;
      longest = length;
    } else {
      longest = candidate;
    }
  }
  if (first < end) out.push_back(build(sequences, first, end, pad_id, min_shared_prefix, device));
}

// Where runs of about equal work begin, cut only where the prompt changes: a prompt counts once
// per run of rows sharing it (a shared prefix), each completion token once.
std::vector<std::size_t> balanced_cuts(const std::vector<TrainingSequence>& sequences, int parts) {
  std::vector<int64_t> work_before(sequences.size() + 1, 0);
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    const bool new_prompt = i == 0 || sequences[i].prompt != sequences[i - 1].prompt;
    work_before[i + 1] = work_before[i] + static_cast<int64_t>(sequences[i].completion.size()) +
                         (new_prompt ? static_cast<int64_t>(sequences[i].prompt.size()) : 0);
  }
  std::vector<std::size_t> boundaries;  // where the prompt changes
  for (std::size_t i = 1; i < sequences.size(); ++i)
    if (sequences[i].prompt != sequences[i - 1].prompt) boundaries.push_back(i);
  std::vector<std::size_t> cuts{0};
  for (int k = 1; k < parts; ++k) {
    const int64_t target = work_before.back() * k / parts;
    std::optional<std::size_t> best;
    for (const std::size_t b : boundaries)
      if (b > cuts.back() && (!best || std::abs(work_before[b] - target) < std::abs(work_before[*best] - target)))
        best = b;
    if (!best) break;
    cuts.push_back(*best);
  }
  cuts.push_back(sequences.size());
  return cuts;
}

}  // namespace

std::vector<MicroBatch> pack_micro_batches(const std::vector<TrainingSequence>& sequences, int64_t token_budget,
                                           int64_t pad_id, int64_t min_shared_prefix, int parts,
                                           const at::Device& device) {
  std::vector<MicroBatch> out;
  const std::vector<std::size_t> cuts = parts > 1 ? balanced_cuts(sequences, parts)
                                                  : std::vector<std::size_t>{0, sequences.size()};
  for (std::size_t run = 0; run + 1 < cuts.size(); ++run)
    pack_run(sequences, cuts[run], cuts[run + 1], token_budget, pad_id, min_shared_prefix, device, out);
  return out;
}

}  // namespace aha::rl
