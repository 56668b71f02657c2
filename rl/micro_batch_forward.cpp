// forward(): the hidden states that predict each completion token, from one of three layouts,
// then their log-probs (and entropy) against the output head; the router loss and routing counts
// from the same pass.
#include "rl/micro_batch_forward.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <tuple>
#include <utility>

#include "policy/token_logprobs.hpp"
#include "rl/data_parallel.hpp"

namespace aha::rl {

namespace {

const std::vector<at::Tensor> kNoReplay;

// How many recorded (token, layer) pairs the pass routed to another expert set than sampling did,
// and how many were recorded: routers and `sampled` per MoE layer [tokens, k], `known` [tokens].
std::pair<at::Tensor, at::Tensor> routing_difference(const std::vector<policy::RouterTrace>& routers,
                                                     const std::vector<at::Tensor>& sampled, const at::Tensor& known) {
  if (sampled.empty() || routers.size() != sampled.size()) return {at::zeros({}, at::kLong), at::zeros({}, at::kLong)};
  at::Tensor differs = at::zeros({}, known.options().dtype(at::kLong));
  for (std::size_t l = 0; l < routers.size(); ++l) {
    const at::Tensor own = std::get<0>(routers[l].own.sort(-1));  // [tokens, k]
    const at::Tensor chosen = std::get<0>(sampled[l].sort(-1));   // [tokens, k]
    differs = differs + (own.ne(chosen).any(-1) & known).sum();
  }
  return {differs, known.sum() * static_cast<int64_t>(routers.size())};
}

// The hidden states predicting each completion token, and the routing the pass chose.
struct PredictingStates {
  at::Tensor hidden;  // [tokens, hidden]
  at::Tensor routing_differs, routing_pairs;
  // Each model call's routers with the weight of each of its tokens [tokens] (padding 0), for the router loss.
  std::vector<std::pair<std::vector<policy::RouterTrace>, at::Tensor>> passes;
};

// Layout 1: one pass over the padded rows.
PredictingStates padded_rows(policy::CausalLMImpl& model, const MicroBatch& mb, bool routing_replay) {
  const policy::ForwardOutput out =
      model.forward(mb.input_ids, mb.attention_mask, nullptr, routing_replay ? mb.replay : kNoReplay);
  PredictingStates states;
  states.hidden = out.hidden.reshape({-1, out.hidden.size(-1)}).index_select(0, mb.hidden_index);
  std::tie(states.routing_differs, states.routing_pairs) = routing_difference(out.routers, mb.replay, mb.replay_known);
  states.passes.emplace_back(out.routers, mb.attention_mask.reshape({-1}).to(at::kFloat));
  return states;
}

// Layout 2: the shared prefixes once, their keys and values handed to every row, then each row's suffix.
PredictingStates shared_prefix_rows(policy::CausalLMImpl& model, const PrefixLayout& layout, bool routing_replay) {
  policy::KvCache cache;
  cache.capacity = layout.prefix_ids.size(1) + layout.suffix_ids.size(1);  // room for both passes from the start
  const policy::ForwardOutput prefix =
      model.forward(layout.prefix_ids, layout.prefix_mask, &cache, routing_replay ? layout.prefix_replay : kNoReplay);
  cache.select_rows(layout.prefix_of_row);
  const policy::ForwardOutput suffix =
      model.forward(layout.suffix_ids, layout.suffix_mask, &cache, routing_replay ? layout.suffix_replay : kNoReplay);
  const int64_t width = suffix.hidden.size(-1);
  const at::Tensor bank = at::cat({prefix.hidden.select(1, -1).index_select(0, layout.prefix_of_row),
                                   suffix.hidden.reshape({-1, width})});  // [rows + rows * suffix, h]
  PredictingStates states;
  states.hidden = bank.index_select(0, layout.hidden_index);
  const auto [prefix_differs, prefix_pairs] =
      routing_difference(prefix.routers, layout.prefix_replay, layout.prefix_known);
  const auto [suffix_differs, suffix_pairs] =
      routing_difference(suffix.routers, layout.suffix_replay, layout.suffix_known);
  states.routing_differs = prefix_differs + suffix_differs;
  states.routing_pairs = prefix_pairs + suffix_pairs;
  states.passes.emplace_back(prefix.routers, layout.prefix_weight);
  states.passes.emplace_back(suffix.routers, layout.suffix_mask.reshape({-1}).to(at::kFloat));
  return states;
}

// A shared-prefix layout as packed sequences: each prefix's real tokens once, then each row's
// suffix as a block whose prefix is its row's, with no padding anywhere.
struct PackedRows {
  at::Tensor ids, positions, blocks;      // [n], [n], [m, 4] (start, length, prefix start, prefix length)
  at::Tensor prefix_slots, suffix_slots;  // the real tokens' flat indices into the layout's prefix and suffix grids
  at::Tensor hidden_index;                // the layout's hidden_index, into the n packed tokens
};

PackedRows packed_rows(const PrefixLayout& layout) {
  const at::Tensor prefix_ids = layout.prefix_ids.cpu(), prefix_mask = layout.prefix_mask.cpu();
  const at::Tensor suffix_ids = layout.suffix_ids.cpu(), suffix_mask = layout.suffix_mask.cpu();
  const at::Tensor prefix_of_row = layout.prefix_of_row.cpu();
  const int64_t prefixes = prefix_ids.size(0), prefix_width = prefix_ids.size(1);
  const int64_t rows = suffix_ids.size(0), suffix_width = suffix_ids.size(1);
  const auto pid = prefix_ids.accessor<int64_t, 2>(), pmask = prefix_mask.accessor<int64_t, 2>();
  const auto sid = suffix_ids.accessor<int64_t, 2>(), smask = suffix_mask.accessor<int64_t, 2>();
  const auto prefix_of = prefix_of_row.accessor<int64_t, 1>();
  std::vector<int64_t> ids, positions, blocks, prefix_slots, suffix_slots, start(prefixes), length(prefixes);
  std::vector<int64_t> bank_to_packed(static_cast<std::size_t>(rows + rows * suffix_width), 0);
  for (int64_t p = 0; p < prefixes; ++p) {
    start[p] = static_cast<int64_t>(ids.size());
    for (int64_t c = 0; c < prefix_width; ++c)
      if (pmask[p][c]) {
        positions.push_back(static_cast<int64_t>(ids.size()) - start[p]);
        ids.push_back(pid[p][c]);
        prefix_slots.push_back(p * prefix_width + c);
      }
    length[p] = static_cast<int64_t>(ids.size()) - start[p];
    if (length[p] > 0) blocks.insert(blocks.end(), {start[p], length[p], 0, 0});
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t u = prefix_of[r], first = static_cast<int64_t>(ids.size());
    bank_to_packed[static_cast<std::size_t>(r)] = start[u] + length[u] - 1;  // the prefix's last state
    for (int64_t c = 0; c < suffix_width; ++c)
      if (smask[r][c]) {
        bank_to_packed[static_cast<std::size_t>(rows + r * suffix_width + c)] = static_cast<int64_t>(ids.size());
        positions.push_back(length[u] + static_cast<int64_t>(ids.size()) - first);
        ids.push_back(sid[r][c]);
        suffix_slots.push_back(r * suffix_width + c);
      }
    const int64_t own = static_cast<int64_t>(ids.size()) - first;
    if (own > 0) blocks.insert(blocks.end(), {first, own, start[u], length[u]});
  }
  const auto longs = [](const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); };
  return {longs(ids),          longs(positions),    longs(blocks).view({-1, 4}),
          longs(prefix_slots), longs(suffix_slots), longs(bank_to_packed).index_select(0, layout.hidden_index.cpu())};
}

// Layout 3: the shared-prefix layout in one padding-free pass: every prefix token once, every
// suffix token once, and no copies of the prefixes' keys and values (CausalLM::forward_packed).
PredictingStates packed_prefix_rows(policy::CausalLMImpl& model, const PrefixLayout& layout, bool routing_replay) {
  const PackedRows packed = packed_rows(layout);
  // Per-layer recordings of the layout's grids, in packed order.
  const auto in_packed_order = [&](const at::Tensor& prefix, const at::Tensor& suffix) {
    return at::cat({prefix.index_select(0, packed.prefix_slots), suffix.index_select(0, packed.suffix_slots)});
  };
  std::vector<at::Tensor> sampled;
  for (std::size_t l = 0; l < layout.prefix_replay.size(); ++l)
    sampled.push_back(in_packed_order(layout.prefix_replay[l], layout.suffix_replay[l]));
  const policy::ForwardOutput out =
      model.forward_packed(packed.ids, packed.positions, packed.blocks, routing_replay ? sampled : kNoReplay);
  PredictingStates states;
  states.hidden = out.hidden.index_select(0, packed.hidden_index);
  const at::Tensor known = sampled.empty() ? at::Tensor() : in_packed_order(layout.prefix_known, layout.suffix_known);
  std::tie(states.routing_differs, states.routing_pairs) = routing_difference(out.routers, sampled, known);
  const at::Tensor weight = at::cat({layout.prefix_weight.index_select(0, packed.prefix_slots),
                                     at::ones({packed.suffix_slots.size(0)}, layout.prefix_weight.options())});
  states.passes.emplace_back(out.routers, weight);
  return states;
}

// The layout the micro-batch and the model allow.
PredictingStates predicting_states(policy::CausalLMImpl& model, const MicroBatch& mb, bool routing_replay) {
  if (!mb.shared.prefix_ids.defined()) return padded_rows(model, mb, routing_replay);
  if (model.packs_sequences()) return packed_prefix_rows(model, mb.shared, routing_replay);
  // A shared prefix hands its keys and values to the rows through a cache, which checkpointed
  // layers do not keep: each row then runs its whole sequence.
  if (model.activation_checkpointing() && at::GradMode::is_enabled()) return padded_rows(model, mb, routing_replay);
  return shared_prefix_rows(model, mb.shared, routing_replay);
}

}  // namespace

// A shared prefix token weighs as many tokens as rows share it, so the router loss is the full rows' loss.
MicroBatchForward forward(policy::CausalLMImpl& model, const MicroBatch& mb, const ForwardSettings& settings) {
  const PredictingStates states = predicting_states(model, mb, settings.routing_replay);
  MicroBatchForward out;
  if (settings.shares)
    for (const auto& [routers, weight] : states.passes) {
      const at::Tensor part = policy::load_balancing_part(routers, weight, *settings.shares) *
                              model.config().router_aux_loss_coef;
      out.aux_loss = out.aux_loss.defined() ? out.aux_loss + part : part;
    }
  at::Tensor flat, entropy;  // [tokens]
  if (settings.entropy)
    std::tie(flat, entropy) =
        policy::token_logprobs_and_entropy(states.hidden, model.output_head(), mb.targets, settings.temperature);
  else flat = policy::token_logprobs(states.hidden, model.output_head(), mb.targets, settings.temperature);
  out.logp = at::zeros(mb.mask.sizes(), flat.options()).index_put({mb.row, mb.column}, flat);
  if (settings.entropy) out.entropy_sum = (entropy * mb.mask.index({mb.row, mb.column})).sum();
  out.routing_differs = states.routing_differs;
  out.routing_pairs = states.routing_pairs;
  return out;
}

std::optional<policy::RoutingShares> step_routing_shares(policy::CausalLMImpl& model,
                                                         const std::vector<MicroBatch>& micro_batches,
                                                         bool routing_replay, DataParallel* data_parallel) {
  if (model.num_moe_layers() == 0 || model.config().router_aux_loss_coef == 0.0) return std::nullopt;
  torch::NoGradGuard no_grad;
  const int64_t k = model.config().num_experts_per_tok, experts = model.config().num_experts;
  policy::RoutingShares total;
  for (std::size_t m = 0; m < micro_batches.size(); ++m) {
    if (!DataParallel::owns(data_parallel, m)) continue;
    for (const auto& [routers, weight] : predicting_states(model, micro_batches[m], routing_replay).passes)
      policy::accumulate(total, policy::routing_shares(routers, weight, k));
  }
  if (!data_parallel) return total;
  if (!total.counts.defined()) total.counts = at::zeros({k, experts}, at::kFloat);
  const at::Tensor counts = total.counts.to(at::kDouble).cpu().contiguous();
  std::vector<double> values(counts.data_ptr<double>(), counts.data_ptr<double>() + counts.numel());
  values.push_back(total.pairs);
  values = data_parallel->sum(values);
  total.pairs = values.back();
  values.pop_back();
  total.counts = at::tensor(values, at::kDouble).view({k, experts}).to(total.counts.options());
  return total;
}

}  // namespace aha::rl
