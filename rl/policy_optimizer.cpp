// PolicyOptimizer: the GRPO step and the SFT step as the algorithm reads, over micro-batches.
#include "rl/policy_optimizer.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "kernels/cpu_threads.hpp"
#include "rl/adamw_step.hpp"
#include "rl/data_parallel.hpp"
#include "rl/gradient_accumulation.hpp"
#include "rl/grpo_loss.hpp"
#include "rl/lr_schedule.hpp"
#include "rl/micro_batch_forward.hpp"

namespace aha::rl {

namespace {

// With several micro-batch threads, a step's batch is cut into this many parts per thread, so
// that threads running at different speeds still finish together.
constexpr int kMicroBatchesPerThread = 4;

// What one micro-batch adds to the step's statistics, as one float64 row read once per step.
enum Sum { kLoss, kKl, kClippedLow, kClippedHigh, kEntropy, kRoutingDiffers, kRoutingPairs, kMismatch, kSums };

// The micro-batches' rows [micro-batches, kSums] summed in micro-batch order (the mismatch is a
// max), then over the ranks.
std::array<double, kSums> add_up(const std::vector<at::Tensor>& rows, DataParallel* data_parallel, bool with_mismatch) {
  std::array<double, kSums> total{};
  std::vector<at::Tensor> defined;
  for (const auto& row : rows)
    if (row.defined()) defined.push_back(row);
  if (!defined.empty()) {
    const at::Tensor all = at::stack(defined).cpu();  // [owned micro-batches, kSums]
    const auto values = all.accessor<double, 2>();
    for (int64_t m = 0; m < all.size(0); ++m)
      for (int s = 0; s < kSums; ++s)
        total[s] = s == kMismatch ? std::max(total[s], values[m][s]) : total[s] + values[m][s];
  }
  if (!data_parallel) return total;
  const std::vector<double> summed = data_parallel->sum(std::vector<double>(total.begin(), total.begin() + kMismatch));
  std::copy(summed.begin(), summed.end(), total.begin());
  if (with_mismatch) total[kMismatch] = data_parallel->max(total[kMismatch]);
  return total;
}

// The largest |training log-prob - sampling log-prob| over the tokens in the loss; 0 when none.
at::Tensor logprob_mismatch(const at::Tensor& logp, const MicroBatch& mb) {
  if (mb.mask.numel() == 0) return at::zeros({}, logp.options());
  return at::where(mb.mask > 0, (logp.detach() - mb.sampling_logp).abs(), 0.0).max();
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

StepStats PolicyOptimizer::step(const std::vector<TrainingSequence>& batch) {
  const GrpoSection& grpo = objective_.grpo;
  const std::vector<MicroBatch> micro_batches = this->micro_batches(batch);
  const StepCounts counts{static_cast<int64_t>(batch.size()), tokens_in_loss(batch), objective_.max_new_tokens};
  const std::vector<at::Tensor> reference_logp = reference_logprobs(micro_batches);  // [rows, completion] each
  StepStats stats;
  stats.tokens = counts.tokens;
  for (int iteration = 0; iteration < grpo.iterations; ++iteration) {
    optimizer_->zero_grad();
    const auto shares = [&] {
      const kernels::ScopedThreads all_threads(cpu_threads_);
      return update_.router_aux_loss ? step_routing_shares(*policy_, micro_batches, grpo.routing_replay, data_parallel_)
                                     : std::nullopt;
    }();
    const ForwardSettings settings{objective_.temperature, true, grpo.routing_replay, shares ? &*shares : nullptr};
    std::vector<at::Tensor> sums(micro_batches.size());  // [kSums] float64 each
    const auto loss_of = [&](std::size_t m) {
      const MicroBatch& mb = micro_batches[m];
      const MicroBatchForward pass = forward(*policy_, mb, settings);
      // With one iteration the update is on-policy: the old log-probs are the current ones.
      const at::Tensor old_logp = grpo.iterations == 1 ? pass.logp.detach() : mb.sampling_logp;
      const LossOutput out = grpo_loss({pass.logp, old_logp, reference_logp[m], mb.advantages, mb.mask}, grpo, counts);
      const at::Tensor loss = with_aux(out.loss, pass);
      const auto as_double = [&](const at::Tensor& t) { return t.to(out.kl_sum.device(), at::kDouble); };
      sums[m] = at::stack({as_double(loss.detach()), out.kl_sum, out.clipped_low, out.clipped_high,
                           as_double(pass.entropy_sum), as_double(pass.routing_differs), as_double(pass.routing_pairs),
                           as_double(logprob_mismatch(pass.logp, mb))});
      return loss;
    };
    accumulate_gradients(owned(micro_batches.size()), loss_of, trainable_,
                         {micro_batch_threads(micro_batches.size()), cpu_threads_});
    if (data_parallel_) data_parallel_->all_reduce_gradients(trainable_);
    const auto total = add_up(sums, data_parallel_, iteration == 0);
    const int updates = grpo.iterations;  // each iteration is one optimizer update
    std::tie(stats.grad_norm, stats.learning_rate) =
        apply_update(steps_taken_ * updates + iteration, update_.total_steps * updates);
    const double tokens = static_cast<double>(std::max<int64_t>(counts.tokens, 1));
    stats.loss = total[kLoss];
    stats.kl = total[kKl] / tokens;
    stats.clip_low = total[kClippedLow] / tokens;
    stats.clip_high = total[kClippedHigh] / tokens;
    stats.entropy = total[kEntropy] / tokens;
    if (iteration > 0) continue;
    stats.logprob_mismatch = total[kMismatch];
    if (total[kRoutingPairs] > 0) stats.routing_mismatch = total[kRoutingDiffers] / total[kRoutingPairs];
  }
  ++steps_taken_;
  return stats;
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
  stats.loss = add_up(sums, data_parallel_, false)[kLoss];
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

std::vector<MicroBatch> PolicyOptimizer::micro_batches(const std::vector<TrainingSequence>& batch) const {
  const int threads = micro_batch_threads(batch.size());
  const int parts = (threads > 1 ? threads * kMicroBatchesPerThread : 1) *
                    (data_parallel_ ? data_parallel_->world() : 1);
  return pack_micro_batches(batch, update_.micro_batch_tokens, 0, update_.min_shared_prefix, parts,
                            policy_->lm_head_weight().device());
}

}  // namespace aha::rl
