// PolicyOptimizer: the GRPO step and the SFT step as the algorithm reads, over micro-batches.
#include "rl/policy_optimizer.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "core/error.hpp"
#include "kernels/cpu_threads.hpp"
#include "rl/adamw_step.hpp"
#include "rl/data_parallel.hpp"
#include "rl/gradient_accumulation.hpp"
#include "rl/grpo_loss.hpp"
#include "rl/lr_schedule.hpp"
#include "rl/micro_batch_forward.hpp"
#include "rl/rollout_correction.hpp"

namespace aha::rl {

namespace {

// With several micro-batch threads, a step's batch is cut into this many parts per thread, so
// that threads running at different speeds still finish together.
constexpr int kMicroBatchesPerThread = 4;

// What one micro-batch forward adds to the step's statistics, as one float64 row read once per
// step. The first five come from every update; the rest from the first look at each micro-batch
// under the weights that begin the step (the update's own forward when the step makes one update,
// else the pass that computes the old log-probs): MoE routing counts, the log-prob mismatch against
// the sampler (a max) and the rollout correction's sums (rl/rollout_correction.hpp).
enum Sum {
  kLoss,
  kKl,
  kClippedLow,
  kClippedHigh,
  kEntropy,
  kRoutingDiffers,
  kRoutingPairs,
  kMismatch,
  kCorrection,
  kSums = kCorrection + static_cast<int>(kCorrectionSums)
};
constexpr int kFirstLook = kRoutingDiffers;
constexpr int correction(CorrectionSum s) { return kCorrection + static_cast<int>(s); }

bool is_max(int s) { return s == kMismatch || s == correction(kWeightMax); }
bool is_min(int s) { return s == correction(kWeightMin); }

// The micro-batches' rows [forwards, kSums] summed in order (or their max, or min), then over the ranks.
std::array<double, kSums> add_up(const std::vector<at::Tensor>& rows, DataParallel* data_parallel) {
  std::array<double, kSums> total{};
  total[correction(kWeightMin)] = std::numeric_limits<double>::infinity();
  std::vector<at::Tensor> defined;
  for (const auto& row : rows)
    if (row.defined()) defined.push_back(row);
  if (!defined.empty()) {
    const at::Tensor all = at::stack(defined).cpu();  // [forwards, kSums]
    const auto values = all.accessor<double, 2>();
    for (int64_t m = 0; m < all.size(0); ++m)
      for (int s = 0; s < kSums; ++s)
        total[s] = is_max(s)   ? std::max(total[s], values[m][s])
                   : is_min(s) ? std::min(total[s], values[m][s])
                               : total[s] + values[m][s];
  }
  if (!data_parallel) return total;
  std::vector<double> sums;
  for (int s = 0; s < kSums; ++s)
    if (!is_max(s) && !is_min(s)) sums.push_back(total[s]);
  sums = data_parallel->sum(sums);
  for (int s = 0, next = 0; s < kSums; ++s)
    total[s] = is_max(s) ? data_parallel->max(total[s]) : is_min(s) ? -data_parallel->max(-total[s]) : sums[next++];
  return total;
}

// A first-look part that adds nothing: for the updates' rows when an earlier pass took the look.
at::Tensor nothing_seen(const at::TensorOptions& options) {
  at::Tensor row = at::zeros({kSums - kFirstLook}, options.dtype(at::kDouble));
  row[correction(kWeightMin) - kFirstLook] = std::numeric_limits<double>::infinity();
  return row;
}

// The largest |training log-prob - sampling log-prob| over the tokens in the loss; 0 when none.
at::Tensor logprob_mismatch(const at::Tensor& logp, const MicroBatch& mb) {
  if (mb.mask.numel() == 0) return at::zeros({}, logp.options());
  return at::where(mb.mask > 0, (logp.detach() - mb.sampling_logp).abs(), 0.0).max();
}

// The first look at a micro-batch under the weights that begin the step, from its log-probs there
// (no gradient): the rollout correction's weight (undefined without one) and the row's first-look
// part [kSums - kFirstLook].
std::pair<at::Tensor, at::Tensor> first_look(const at::Tensor& logp, const MicroBatchForward& pass,
                                             const MicroBatch& mb, const GrpoSection& grpo) {
  const auto as_double = [&](const at::Tensor& t) { return t.to(logp.device(), at::kDouble).reshape({1}); };
  std::vector<at::Tensor> parts{as_double(pass.routing_differs), as_double(pass.routing_pairs),
                                as_double(logprob_mismatch(logp, mb))};
  at::Tensor weight;
  if (grpo.rollout_correction == RolloutCorrection::none) {
    parts.push_back(nothing_seen(logp.options()).slice(0, kCorrection - kFirstLook));
  } else {
    RolloutCorrectionWeight correction = rollout_correction(logp, mb.sampling_logp, mb.mask, grpo);
    weight = correction.weight;
    parts.push_back(correction.sums.to(logp.device()));
  }
  return {weight, at::cat(parts)};
}

at::Tensor with_aux(const at::Tensor& loss, const MicroBatchForward& pass) {
  return pass.aux_loss.defined() ? loss + pass.aux_loss : loss;
}

int64_t tokens_in_loss(const std::vector<TrainingSequence>& batch) {
  int64_t tokens = 0;
  for (const auto& s : batch) tokens += s.in_loss ? static_cast<int64_t>(s.completion.size()) : 0;
  return tokens;
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

PolicyOptimizer::PolicyOptimizer(policy::CausalLM policy, UpdateSettings update, GrpoObjective objective)
    : policy_(std::move(policy)),
      update_(std::move(update)),
      objective_(std::move(objective)),
      cpu_threads_(at::get_num_threads()) {
  for (auto& item : policy_->named_parameters()) {
    const bool frozen = std::any_of(update_.freeze.begin(), update_.freeze.end(),
                                    [&](const std::string& p) { return matches_pattern(item.key(), p); });
    item.value().set_requires_grad(!frozen);
    if (!frozen) trainable_.push_back(item.value());
  }
  if (objective_.reference) (*objective_.reference)->eval();
  const OptimSection& o = update_.optim;
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      trainable_, torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
}

// One update's share of the step: its micro-batches, counts and the log-probs its loss compares to.
struct PolicyOptimizer::MiniBatch {
  std::vector<MicroBatch> micro_batches;
  UpdateCounts counts;
  std::vector<at::Tensor> reference_logp;  // per micro-batch [rows, completion]; undefined when beta = 0
  // A batch sampled by older weights, without rollout correction: the sampler's log-probs are the
  // ratio's denominator, so that PPO's clip bounds the update as the batch grows stale.
  bool old_from_sampler = false;
  // Per micro-batch, from the pass before the step's first update; undefined when the step makes
  // one update, which then takes them from its own forward.
  std::vector<at::Tensor> old_logp, correction;
};

StepStats PolicyOptimizer::step(const std::vector<TrainingSequence>& batch, bool stale) {
  const GrpoSection& grpo = objective_.grpo;
  std::vector<MiniBatch> parts = mini_batches(batch);
  for (MiniBatch& part : parts) part.old_from_sampler = stale && grpo.rollout_correction == RolloutCorrection::none;
  const int updates = grpo.iterations * grpo.mini_batches;
  std::vector<at::Tensor> rows;  // [kSums] float64 per micro-batch forward
  if (updates > 1)
    for (MiniBatch& part : parts) look_before_updates(part, rows);
  StepStats stats;
  stats.tokens = tokens_in_loss(batch);
  double grad_norms = 0.0;
  for (int iteration = 0; iteration < grpo.iterations; ++iteration) {
    for (int p = 0; p < grpo.mini_batches; ++p) {
      train_update(parts[static_cast<std::size_t>(p)], rows);
      const int update = iteration * grpo.mini_batches + p;
      const auto [grad_norm, rate] = apply_update(steps_taken_ * updates + update, update_.total_steps * updates);
      grad_norms += grad_norm;
      stats.learning_rate = rate;
    }
  }
  ++steps_taken_;
  const auto total = add_up(rows, data_parallel_);
  const double tokens = static_cast<double>(std::max<int64_t>(stats.tokens, 1)) * grpo.iterations;
  stats.loss = total[kLoss] / updates;
  stats.grad_norm = grad_norms / updates;
  stats.kl = total[kKl] / tokens;
  stats.clip_low = total[kClippedLow] / tokens;
  stats.clip_high = total[kClippedHigh] / tokens;
  stats.entropy = total[kEntropy] / tokens;
  stats.logprob_mismatch = total[kMismatch];
  if (total[kRoutingPairs] > 0) stats.routing_mismatch = total[kRoutingDiffers] / total[kRoutingPairs];
  if (grpo.rollout_correction != RolloutCorrection::none) {
    const double count = total[correction(kWeightCount)];
    stats.correction = count > 0 ? CorrectionStats{total[correction(kWeightSum)] / count, total[correction(kWeightMin)],
                                                   total[correction(kWeightMax)], total[correction(kOutside)] / count}
                                 : CorrectionStats{};
  }
  return stats;
}

void PolicyOptimizer::look_before_updates(MiniBatch& part, std::vector<at::Tensor>& rows) {
  torch::NoGradGuard no_grad;
  const kernels::ScopedThreads all_threads(cpu_threads_);
  const ForwardSettings settings{objective_.temperature, false, objective_.grpo.routing_replay, nullptr};
  part.old_logp.resize(part.micro_batches.size());
  part.correction.resize(part.micro_batches.size());
  for (const std::size_t m : owned(part.micro_batches.size())) {
    const MicroBatch& mb = part.micro_batches[m];
    const MicroBatchForward pass = forward(*policy_, mb, settings);
    auto [weight, seen] = first_look(pass.logp, pass, mb, objective_.grpo);
    part.old_logp[m] = part.old_from_sampler ? mb.sampling_logp : pass.logp;
    part.correction[m] = weight;
    rows.push_back(at::cat({at::zeros({kFirstLook}, seen.options()), seen}));
  }
}

void PolicyOptimizer::train_update(const MiniBatch& part, std::vector<at::Tensor>& rows) {
  const GrpoSection& grpo = objective_.grpo;
  optimizer_->zero_grad();
  const auto shares = [&] {
    const kernels::ScopedThreads all_threads(cpu_threads_);
    return update_.router_aux_loss
               ? step_routing_shares(*policy_, part.micro_batches, grpo.routing_replay, data_parallel_)
               : std::nullopt;
  }();
  const ForwardSettings settings{objective_.temperature, true, grpo.routing_replay, shares ? &*shares : nullptr};
  std::vector<at::Tensor> sums(part.micro_batches.size());  // [kSums] float64 each
  const auto loss_of = [&](std::size_t m) {
    const MicroBatch& mb = part.micro_batches[m];
    const MicroBatchForward pass = forward(*policy_, mb, settings);
    LossInputs in{pass.logp, {}, part.reference_logp[m], mb.advantages, mb.mask, {}};
    at::Tensor seen;
    if (part.old_logp.empty()) {  // the step's one update: the old log-probs are its own
      const at::Tensor own = pass.logp.detach();
      std::tie(in.correction, seen) = first_look(own, pass, mb, grpo);
      in.old_logp = part.old_from_sampler ? mb.sampling_logp : own;
    } else {
      in.old_logp = part.old_logp[m];
      in.correction = part.correction[m];
      seen = nothing_seen(in.old_logp.options());
    }
    const LossOutput out = grpo_loss(in, grpo, part.counts);
    const at::Tensor loss = with_aux(out.loss, pass);
    const auto as_double = [&](const at::Tensor& t) { return t.to(out.kl_sum.device(), at::kDouble).reshape({1}); };
    sums[m] = at::cat({as_double(loss.detach()), as_double(out.kl_sum), as_double(out.clipped_low),
                       as_double(out.clipped_high), as_double(pass.entropy_sum), seen.to(out.kl_sum.device())});
    return loss;
  };
  accumulate_gradients(owned(part.micro_batches.size()), loss_of, trainable_,
                       {micro_batch_threads(part.micro_batches.size()), cpu_threads_});
  if (data_parallel_) data_parallel_->all_reduce_gradients(trainable_);
  for (auto& row : sums)
    if (row.defined()) rows.push_back(std::move(row));
}

StepStats PolicyOptimizer::sft_step(const std::vector<TrainingSequence>& batch) {
  const std::vector<MicroBatch> micro_batches = this->micro_batches(batch);
  StepStats stats;
  stats.tokens = tokens_in_loss(batch);
  optimizer_->zero_grad();
  const auto shares = [&] {
    const kernels::ScopedThreads all_threads(cpu_threads_);
    return update_.router_aux_loss ? step_routing_shares(*policy_, micro_batches, false, data_parallel_) : std::nullopt;
  }();
  const ForwardSettings settings{1.0, false, false, shares ? &*shares : nullptr};
  std::vector<at::Tensor> sums(micro_batches.size());
  const auto loss_of = [&](std::size_t m) {
    const MicroBatch& mb = micro_batches[m];
    const MicroBatchForward pass = forward(*policy_, mb, settings);
    const at::Tensor nll = -(pass.logp * mb.mask).sum() / static_cast<double>(std::max<int64_t>(stats.tokens, 1));
    const at::Tensor loss = with_aux(nll, pass);
    sums[m] = at::zeros({kSums}, loss.options().dtype(at::kDouble)).index_put_({kLoss}, loss.detach().to(at::kDouble));
    return loss;
  };
  accumulate_gradients(owned(micro_batches.size()), loss_of, trainable_,
                       {micro_batch_threads(micro_batches.size()), cpu_threads_});
  if (data_parallel_) data_parallel_->all_reduce_gradients(trainable_);
  stats.loss = add_up(sums, data_parallel_)[kLoss];
  std::tie(stats.grad_norm, stats.learning_rate) = apply_update(steps_taken_, update_.total_steps);
  ++steps_taken_;
  return stats;
}

std::vector<at::Tensor> PolicyOptimizer::reference_logprobs(const std::vector<MicroBatch>& micro_batches) {
  std::vector<at::Tensor> logp(micro_batches.size());
  if (objective_.grpo.beta == 0.0 || !objective_.reference) return logp;
  torch::NoGradGuard no_grad;
  const kernels::ScopedThreads all_threads(cpu_threads_);
  const ForwardSettings settings{objective_.temperature, false, objective_.grpo.routing_replay, nullptr};
  for (const std::size_t m : owned(micro_batches.size()))
    logp[m] = forward(**objective_.reference, micro_batches[m], settings).logp;
  return logp;
}

std::pair<double, double> PolicyOptimizer::apply_update(int update, int total_updates) {
  // Passes over every parameter (the norm, AdamW): at 0.5B, seconds on one core.
  const kernels::ScopedThreads all_threads(cpu_threads_);
  const OptimSection& o = update_.optim;
  const double max_norm = o.max_grad_norm > 0.0 ? o.max_grad_norm : std::numeric_limits<double>::infinity();
  const double grad_norm = torch::nn::utils::clip_grad_norm_(trainable_, max_norm);
  const double rate = learning_rate(o, update, total_updates);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(rate);
  adamw_step(*optimizer_);
  return {grad_norm, rate};
}

void PolicyOptimizer::set_micro_batch_threads(int threads) {
  micro_batch_threads_ = threads > 0 ? threads : at::get_num_threads();
}

int PolicyOptimizer::micro_batch_threads(std::size_t micro_batches) const {
  if (!policy_->lm_head_weight().device().is_cpu()) return 1;
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(micro_batch_threads_), micro_batches));
}

std::vector<std::size_t> PolicyOptimizer::owned(std::size_t micro_batches) const {
  std::vector<std::size_t> mine;
  for (std::size_t m = 0; m < micro_batches; ++m)
    if (DataParallel::owns(data_parallel_, m)) mine.push_back(m);
  return mine;
}

std::vector<PolicyOptimizer::MiniBatch> PolicyOptimizer::mini_batches(const std::vector<TrainingSequence>& batch) {
  const auto parts = static_cast<std::size_t>(objective_.grpo.mini_batches);
  if (batch.size() % parts != 0)
    throw Error(fmt::format("grpo.mini_batches = {} does not divide the step's {} completions", parts, batch.size()));
  const std::size_t rows = batch.size() / parts;
  std::vector<MiniBatch> out(parts);
  for (std::size_t p = 0; p < parts; ++p) {
    const std::vector<TrainingSequence> part(batch.begin() + static_cast<std::ptrdiff_t>(p * rows),
                                             batch.begin() + static_cast<std::ptrdiff_t>((p + 1) * rows));
    out[p].micro_batches = micro_batches(part);
    out[p].counts = {static_cast<int64_t>(rows), tokens_in_loss(part), objective_.max_new_tokens,
                     static_cast<double>(tokens_in_loss(batch)) / static_cast<double>(parts)};
    out[p].reference_logp = reference_logprobs(out[p].micro_batches);
  }
  return out;
}

std::vector<MicroBatch> PolicyOptimizer::micro_batches(const std::vector<TrainingSequence>& batch) const {
  const int threads = micro_batch_threads(batch.size());
  const int parts = (threads > 1 ? threads * kMicroBatchesPerThread : 1) *
                    (data_parallel_ ? data_parallel_->world() : 1);
  return pack_micro_batches(batch, update_.micro_batch_tokens, 0, update_.min_shared_prefix, parts,
                            policy_->lm_head_weight().device());
}

}  // namespace aha::rl
