// PolicyOptimizer: micro-batched forward/backward of the GRPO loss and the AdamW step.
#include "rl/policy_optimizer.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "kernels/cpu_threads.hpp"
#include "policy/token_logprobs.hpp"
#include "rl/adamw_step.hpp"
#include "rl/data_parallel.hpp"
#include "rl/grpo_loss.hpp"
#include "rl/lr_schedule.hpp"

namespace aha::rl {

namespace {

// With several micro-batch threads, a step's batch is cut into this many parts per thread, so
// that threads running at different speeds still finish together.
constexpr int kMicroBatchesPerThread = 4;

// What the policy's forward over one micro-batch gives the loss.
struct PolicyPass {
  at::Tensor logp;         // [rows, longest_completion] log-probs of the completion tokens
  at::Tensor entropy_sum;  // summed entropy over the tokens in the loss (no gradient)
  at::Tensor aux_loss;     // router load-balancing loss of the micro-batch; undefined for dense models
  int64_t routing_differs = 0, routing_pairs = 0;  // (token, layer) pairs whose own experts differ from sampling's
};

// How many recorded (token, layer) pairs the training pass would route to another expert set,
// and how many were recorded: routers and `sampled` per MoE layer [tokens, k], `known` [tokens].
std::pair<int64_t, int64_t> routing_difference(const std::vector<policy::RouterTrace>& routers,
                                               const std::vector<at::Tensor>& sampled, const at::Tensor& known) {
  if (sampled.empty() || routers.size() != sampled.size()) return {0, 0};
  int64_t differs = 0;
  for (std::size_t l = 0; l < routers.size(); ++l) {
    const at::Tensor own = std::get<0>(routers[l].own.sort(-1));       // [tokens, k]
    const at::Tensor chosen = std::get<0>(sampled[l].sort(-1));        // [tokens, k]
    differs += (own.ne(chosen).any(-1) & known).sum().item<int64_t>();
  }
  return {differs, known.sum().item<int64_t>() * static_cast<int64_t>(routers.size())};
}

// The hidden states predicting each completion token [tokens, hidden], and the routing counts.
struct PredictingStates {
  at::Tensor hidden;
  int64_t routing_differs = 0, routing_pairs = 0;
  // Each forward's routers with the weight of each of its tokens [tokens] (padding 0), for the router loss.
  std::vector<std::pair<std::vector<policy::RouterTrace>, at::Tensor>> passes;
};

// One pass over the padded rows.
PredictingStates full_rows(policy::CausalLMImpl& model, const MicroBatch& mb, bool routing_replay) {
  static const std::vector<at::Tensor> none;
  const policy::ForwardOutput out =
      model.forward(mb.input_ids, mb.attention_mask, nullptr, routing_replay ? mb.replay : none);
  PredictingStates states;
  states.hidden = out.hidden.reshape({-1, out.hidden.size(-1)}).index_select(0, mb.hidden_index);
  std::tie(states.routing_differs, states.routing_pairs) = routing_difference(out.routers, mb.replay, mb.replay_known);
  states.passes.emplace_back(out.routers, mb.attention_mask.reshape({-1}).to(at::kFloat));
  return states;
}

// The shared prefixes once, their keys and values handed to every row, then each row's suffix.
PredictingStates shared_prefix_rows(policy::CausalLMImpl& model, const PrefixLayout& layout, bool routing_replay) {
  static const std::vector<at::Tensor> none;
  policy::KvCache cache;
  cache.capacity = layout.prefix_ids.size(1) + layout.suffix_ids.size(1);  // room for both passes from the start
  const policy::ForwardOutput prefix = model.forward(layout.prefix_ids, layout.prefix_mask, &cache,
                                                     routing_replay ? layout.prefix_replay : none);
  cache.select_rows(layout.prefix_of_row);
  const policy::ForwardOutput suffix = model.forward(layout.suffix_ids, layout.suffix_mask, &cache,
                                                     routing_replay ? layout.suffix_replay : none);
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
  at::Tensor ids, positions, blocks;  // [n], [n], [m, 4]
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
  return {longs(ids), longs(positions), longs(blocks).view({-1, 4}), longs(prefix_slots), longs(suffix_slots),
          longs(bank_to_packed).index_select(0, layout.hidden_index.cpu())};
}

// The shared-prefix layout in one padding-free pass: every prefix token once, every suffix token
// once, and no copies of the prefixes' keys and values (CausalLM::forward_packed).
PredictingStates packed_prefix_rows(policy::CausalLMImpl& model, const PrefixLayout& layout, bool routing_replay) {
  const PackedRows packed = packed_rows(layout);
  // Per-layer recordings of the layout's grids, in packed order.
  const auto in_packed_order = [&](const at::Tensor& prefix, const at::Tensor& suffix) {
    return at::cat({prefix.index_select(0, packed.prefix_slots), suffix.index_select(0, packed.suffix_slots)});
  };
  std::vector<at::Tensor> sampled;
  for (std::size_t l = 0; l < layout.prefix_replay.size(); ++l)
    sampled.push_back(in_packed_order(layout.prefix_replay[l], layout.suffix_replay[l]));
  static const std::vector<at::Tensor> none;
  const policy::ForwardOutput out =
      model.forward_packed(packed.ids, packed.positions, packed.blocks, routing_replay ? sampled : none);
  PredictingStates states;
  states.hidden = out.hidden.index_select(0, packed.hidden_index);
  if (!sampled.empty())
    std::tie(states.routing_differs, states.routing_pairs) = routing_difference(
        out.routers, sampled, in_packed_order(layout.prefix_known, layout.suffix_known));
  const at::Tensor weight = at::cat({layout.prefix_weight.index_select(0, packed.prefix_slots),
                                     at::ones({packed.suffix_slots.size(0)}, layout.prefix_weight.options())});
  states.passes.emplace_back(out.routers, weight);
  return states;
}

// The forward over the micro-batch's rows, sharing prefixes when the layout has them.
PredictingStates predicting_states(policy::CausalLMImpl& model, const MicroBatch& mb, bool routing_replay) {
  if (!mb.shared.prefix_ids.defined()) return full_rows(model, mb, routing_replay);
  if (model.packs_sequences()) return packed_prefix_rows(model, mb.shared, routing_replay);
  // A shared prefix hands its keys and values to the rows through a cache, which checkpointed
  // layers do not keep: each row then runs its whole sequence.
  if (model.activation_checkpointing() && at::GradMode::is_enabled()) return full_rows(model, mb, routing_replay);
  return shared_prefix_rows(model, mb.shared, routing_replay);
}

// `shares`: the routing shares of the whole step when the router loss is on, else null. A shared
// prefix token weighs as many tokens as rows share it, so the loss is the full rows' loss.
PolicyPass run_policy(policy::CausalLMImpl& model, const MicroBatch& mb, double temperature, bool with_extras,
                      bool routing_replay, const policy::RoutingShares* shares = nullptr) {
  PolicyPass pass;
  const PredictingStates states = predicting_states(model, mb, routing_replay);
  if (shares)
    for (const auto& [routers, weight] : states.passes) {
      const at::Tensor part = policy::load_balancing_part(routers, weight, *shares) * model.config().router_aux_loss_coef;
      pass.aux_loss = pass.aux_loss.defined() ? pass.aux_loss + part : part;
    }
  const at::Tensor& picked = states.hidden;  // [tokens, h]
  at::Tensor flat, entropy;  // [tokens]
  if (with_extras) std::tie(flat, entropy) = policy::token_logprobs_and_entropy(picked, model.output_head(), mb.targets, temperature);
  else flat = policy::token_logprobs(picked, model.output_head(), mb.targets, temperature);
  pass.logp = at::zeros(mb.mask.sizes(), flat.options()).index_put({mb.row, mb.column}, flat);
  if (!with_extras) return pass;
  pass.routing_differs = states.routing_differs;
  pass.routing_pairs = states.routing_pairs;
  pass.entropy_sum = (entropy * mb.mask.index({mb.row, mb.column})).sum();
  return pass;
}

// The routing shares of the whole step, from a forward pass without gradient (the routing is the
// same in the training pass, so the router loss splits exactly across micro-batches).
// With data parallelism each rank counts its own micro-batches and the counts are summed.
std::optional<policy::RoutingShares> step_routing_shares(policy::CausalLMImpl& model,
                                                          const std::vector<MicroBatch>& micro_batches, bool enabled,
                                                          bool routing_replay, DataParallel* dp) {
  if (!enabled || model.num_moe_layers() == 0 || model.config().router_aux_loss_coef == 0.0) return std::nullopt;
  torch::NoGradGuard no_grad;
  policy::RoutingShares total;
  for (std::size_t m = 0; m < micro_batches.size(); ++m) {
    if (dp && static_cast<int>(m % static_cast<std::size_t>(dp->world())) != dp->rank()) continue;
    for (const auto& [routers, weight] : predicting_states(model, micro_batches[m], routing_replay).passes)
      policy::accumulate(total, policy::routing_shares(routers, weight, model.config().num_experts_per_tok));
  }
  if (dp) {
    const int64_t k = model.config().num_experts_per_tok, experts = model.config().num_experts;
    if (!total.counts.defined()) total.counts = at::zeros({k, experts}, at::kFloat);
    const at::Tensor counts = total.counts.to(at::kDouble).cpu().contiguous();
    std::vector<double> values(counts.data_ptr<double>(), counts.data_ptr<double>() + counts.numel());
    values.push_back(total.pairs);
    values = dp->sum(values);
    total.pairs = values.back();
    values.pop_back();
    total.counts = at::tensor(values, at::kDouble).view({k, experts}).to(total.counts.options());
  }
  return total;
}

at::Tensor with_aux(const at::Tensor& loss, const PolicyPass& pass) {
  return pass.aux_loss.defined() ? loss + pass.aux_loss : loss;
}

}  // namespace

bool matches_pattern(std::string_view name, std::string_view pattern) {
  if (pattern.empty()) return name.empty();
  if (pattern.front() == '*') {
    for (std::size_t i = 0; i <= name.size(); ++i)
      if (matches_pattern(name.substr(i), pattern.substr(1))) return true;
    return false;
  }
  return !name.empty() && name.front() == pattern.front() && matches_pattern(name.substr(1), pattern.substr(1));
}

PolicyOptimizer::PolicyOptimizer(policy::CausalLM policy, std::optional<policy::CausalLM> reference, GrpoSection grpo,
                                 OptimSection optim, int total_steps, int max_new_tokens, double temperature,
                                 int64_t micro_batch_tokens, const std::vector<std::string>& freeze,
                                 int64_t min_shared_prefix)
    : policy_(std::move(policy)),
      reference_(std::move(reference)),
      grpo_(grpo),
      optim_(optim),
      total_steps_(total_steps),
      max_new_tokens_(max_new_tokens),
      temperature_(temperature),
      micro_batch_tokens_(micro_batch_tokens),
      min_shared_prefix_(min_shared_prefix),
      cpu_threads_(at::get_num_threads()) {
  for (auto& item : policy_->named_parameters()) {
    const bool frozen = std::any_of(freeze.begin(), freeze.end(),
                                    [&](const std::string& p) { return matches_pattern(item.key(), p); });
    item.value().set_requires_grad(!frozen);
    if (!frozen) trainable_.push_back(item.value());
  }
  if (reference_) (*reference_)->eval();
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      trainable_, torch::optim::AdamWOptions(optim.lr)
                      .betas({optim.beta1, optim.beta2})
                      .eps(optim.eps)
                      .weight_decay(optim.weight_decay));
}

bool PolicyOptimizer::owned(std::size_t micro_batch) const {
  return !data_parallel_ || static_cast<int>(micro_batch % static_cast<std::size_t>(data_parallel_->world())) ==
                                data_parallel_->rank();
}

void PolicyOptimizer::set_micro_batch_threads(int threads) {
  micro_batch_threads_ = threads > 0 ? threads : at::get_num_threads();
}

int PolicyOptimizer::threads_for(std::size_t owned_micro_batches) const {
  if (!policy_->lm_head_weight().device().is_cpu()) return 1;
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(micro_batch_threads_), owned_micro_batches));
}

std::vector<MicroBatch> PolicyOptimizer::micro_batches(const std::vector<TrainingSequence>& batch) const {
  std::vector<MicroBatch> out;
  const at::Device device = policy_->lm_head_weight().device();
  const int threads = threads_for(batch.size());
  const int parts = (threads > 1 ? threads * kMicroBatchesPerThread : 1) * (data_parallel_ ? data_parallel_->world() : 1);
  for (const auto& mb : pack_micro_batches(batch, micro_batch_tokens_, 0, min_shared_prefix_, parts))
    out.push_back(to_device(mb, device));
  return out;
}

std::vector<PolicyOptimizer::MicroBatchStats> PolicyOptimizer::run_micro_batches(std::size_t count,
                                                                                const MicroBatchWork& work) {
  std::vector<MicroBatchStats> stats(count);
  std::vector<std::size_t> mine;
  for (std::size_t m = 0; m < count; ++m)
    if (owned(m)) mine.push_back(m);
  const int threads = threads_for(mine.size());
  if (threads <= 1) {
    const kernels::ScopedThreads all_threads(cpu_threads_);  // the one micro-batch thread is this one
    for (const std::size_t m : mine) {
      auto [loss, part] = work(m);
      loss.backward();
      stats[m] = part;
    }
    return stats;
  }
  const int threads_each = std::max(1, cpu_threads_ / threads);
  // Every thread reads the policy's weights; autograd hands each micro-batch's gradient to the
  // thread that ran it instead of adding it to the parameters. Each thread takes the next
  // micro-batch when it is free, so a slow core holds up the step by one micro-batch at most, and
  // the gradients join the total in micro-batch order: the sum is the same whichever thread ran what.
  // A thread starts micro-batch i only once i < folded + threads, so at most `threads` gradients
  // wait beside the total.
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex folding;
  std::condition_variable folded_more;
  std::vector<std::vector<at::Tensor>> finished(mine.size());  // gradients waiting for earlier ones
  std::vector<char> done(mine.size(), 0);
  std::size_t folded = 0;
  std::vector<at::Tensor> total(trainable_.size());
  const auto fold = [&](std::size_t i, std::vector<at::Tensor> grads) {
    const std::lock_guard lock(folding);
    finished[i] = std::move(grads);
    done[i] = 1;
    torch::NoGradGuard no_grad;
    for (; folded < mine.size() && done[folded]; ++folded) {
      for (std::size_t p = 0; p < total.size(); ++p) {
        const at::Tensor& part = finished[folded][p];
        if (!part.defined()) continue;
        if (total[p].defined()) {
          total[p].add_(part);
        } else if (part.is_view() || part.strides() != trainable_[p].strides()) {
          // As backward() would leave it: the parameter's layout, a tensor of its own (the
          // gradient norm's sums then run in the same order).
          total[p] = at::empty_like(trainable_[p]).copy_(part);
        } else {
          total[p] = part;
        }
      }
      finished[folded].clear();
    }
    folded_more.notify_all();
  };
  std::vector<std::exception_ptr> failures(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        kernels::set_threads_of_this_thread(threads_each);
        for (std::size_t i = next++; i < mine.size(); i = next++) {
          {
            std::unique_lock lock(folding);
            folded_more.wait(lock, [&] { return i < folded + static_cast<std::size_t>(threads) || failed; });
          }
          if (failed) break;
          auto [loss, part] = work(mine[i]);
          stats[mine[i]] = part;
          fold(i, torch::autograd::grad({loss}, trainable_, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                        /*allow_unused=*/true));
        }
      } catch (...) {
        failures[t] = std::current_exception();
        next = mine.size();  // the others stop after their current micro-batch
        const std::lock_guard lock(folding);
        failed = true;
        folded_more.notify_all();
      }
    });
  for (auto& thread : pool) thread.join();
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
  for (std::size_t p = 0; p < trainable_.size(); ++p) trainable_[p].mutable_grad() = total[p];
  return stats;
}

StepStats PolicyOptimizer::step(const std::vector<TrainingSequence>& batch) {
  const auto micro_batches = this->micro_batches(batch);
  StepCounts counts{static_cast<int64_t>(batch.size()), 0, max_new_tokens_};
  for (const auto& mb : micro_batches) counts.tokens += static_cast<int64_t>(mb.mask.sum().item<double>());

  std::vector<at::Tensor> reference_logp(micro_batches.size());
  if (grpo_.beta != 0.0 && reference_) {
    torch::NoGradGuard no_grad;
    const kernels::ScopedThreads all_threads(cpu_threads_);
    for (std::size_t m = 0; m < micro_batches.size(); ++m)
      if (owned(m))
        reference_logp[m] = run_policy(**reference_, micro_batches[m], temperature_, false, grpo_.routing_replay).logp;
  }
  StepStats stats;
  stats.tokens = counts.tokens;
  const double tokens = static_cast<double>(std::max<int64_t>(counts.tokens, 1));
  for (int iteration = 0; iteration < grpo_.iterations; ++iteration) {
    optimizer_->zero_grad();
    const auto shares = [&] {
      const kernels::ScopedThreads all_threads(cpu_threads_);
      return step_routing_shares(*policy_, micro_batches, grpo_.router_aux_loss, grpo_.routing_replay, data_parallel_);
    }();
    const auto parts = run_micro_batches(micro_batches.size(), [&](std::size_t m) {
      const MicroBatch& mb = micro_batches[m];
      const PolicyPass pass = run_policy(*policy_, mb, temperature_, true, grpo_.routing_replay, shares ? &*shares : nullptr);
      MicroBatchStats part;
      part.routing_differs = static_cast<double>(pass.routing_differs);
      part.routing_pairs = static_cast<double>(pass.routing_pairs);
      const at::Tensor& logp = pass.logp;
      const at::Tensor tokens_in_loss = mb.mask > 0;
      if (iteration == 0 && tokens_in_loss.any().item<bool>())
        part.mismatch = (logp.detach() - mb.sampling_logp).abs().masked_select(tokens_in_loss).max().item<double>();
      // With one iteration the update is on-policy: the old log-probs are the current ones.
      const at::Tensor old_logp = grpo_.iterations == 1 ? logp.detach() : mb.sampling_logp;
      const LossInputs in{logp, old_logp, reference_logp[m], mb.advantages, mb.mask};
      const LossOutput out = grpo_loss(in, grpo_, counts);
      const at::Tensor total = with_aux(out.loss, pass);
      part.loss = total.item<double>();
      part.kl = out.kl_sum;
      part.low = out.clipped_low;
      part.high = out.clipped_high;
      part.entropy = pass.entropy_sum.item<double>();
      return std::pair{total, part};
    });
    double loss = 0.0, kl = 0.0, low = 0.0, high = 0.0, entropy = 0.0, routing_differs = 0.0, routing_pairs = 0.0;
    for (const MicroBatchStats& part : parts) {
      loss += part.loss;
      kl += part.kl;
      low += part.low;
      high += part.high;
      entropy += part.entropy;
      routing_differs += part.routing_differs;
      routing_pairs += part.routing_pairs;
      if (iteration == 0) stats.logprob_mismatch = std::max(stats.logprob_mismatch, part.mismatch);
    }
    if (data_parallel_) {
      data_parallel_->all_reduce_gradients(trainable_);
      const auto sums = data_parallel_->sum({loss, kl, low, high, entropy, routing_differs, routing_pairs});
      std::tie(loss, kl, low, high, entropy, routing_differs, routing_pairs) =
          std::tuple{sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6]};
      if (iteration == 0) stats.logprob_mismatch = data_parallel_->max(stats.logprob_mismatch);
    }
    const int updates = grpo_.iterations;  // each iteration is one optimizer update
    std::tie(stats.grad_norm, stats.learning_rate) = apply_update(steps_taken_ * updates + iteration, total_steps_ * updates);
    stats.loss = loss;
    stats.kl = kl / tokens;
    stats.clip_low = low / tokens;
    stats.clip_high = high / tokens;
    stats.entropy = entropy / tokens;
    if (iteration == 0 && routing_pairs > 0)
      stats.routing_mismatch = routing_differs / routing_pairs;
  }
  ++steps_taken_;
  return stats;
}

std::pair<double, double> PolicyOptimizer::apply_update(int update, int total_updates) {
  // Passes over every parameter (the norm, AdamW): at 0.5B, seconds on one core.
  const kernels::ScopedThreads all_threads(cpu_threads_);
  const double max_norm = optim_.max_grad_norm > 0.0 ? optim_.max_grad_norm : std::numeric_limits<double>::infinity();
  const double grad_norm = torch::nn::utils::clip_grad_norm_(trainable_, max_norm);
  const double rate = learning_rate(optim_, update, total_updates);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(rate);
  adamw_step(*optimizer_);
  return {grad_norm, rate};
}

StepStats PolicyOptimizer::sft_step(const std::vector<TrainingSequence>& batch) {
  const auto micro_batches = this->micro_batches(batch);
  int64_t tokens = 0;
  for (const auto& mb : micro_batches) tokens += static_cast<int64_t>(mb.mask.sum().item<double>());
  StepStats stats;
  stats.tokens = tokens;
  optimizer_->zero_grad();
  const auto shares = [&] {
    const kernels::ScopedThreads all_threads(cpu_threads_);
    return step_routing_shares(*policy_, micro_batches, grpo_.router_aux_loss, false, data_parallel_);
  }();
  const auto parts = run_micro_batches(micro_batches.size(), [&](std::size_t m) {
    const MicroBatch& mb = micro_batches[m];
    const PolicyPass pass = run_policy(*policy_, mb, 1.0, true, false, shares ? &*shares : nullptr);
    const at::Tensor loss = with_aux(-(pass.logp * mb.mask).sum() / static_cast<double>(std::max<int64_t>(tokens, 1)), pass);
    MicroBatchStats part;
    part.loss = loss.item<double>();
    return std::pair{loss, part};
  });
  for (const MicroBatchStats& part : parts) stats.loss += part.loss;
  if (data_parallel_) {
    data_parallel_->all_reduce_gradients(trainable_);
    stats.loss = data_parallel_->sum({stats.loss})[0];
  }
  std::tie(stats.grad_norm, stats.learning_rate) = apply_update(steps_taken_, total_steps_);
  ++steps_taken_;
  return stats;
}

}  // namespace aha::rl
