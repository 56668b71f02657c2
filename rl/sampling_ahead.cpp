// SamplingAhead: one thread, k copies of the weights, steps sampled in the order launched.
#include "rl/sampling_ahead.hpp"

#include <torch/csrc/autograd/grad_mode.h>

#include "kernels/cpu_threads.hpp"

namespace aha::rl {

SamplingAhead::SamplingAhead(std::vector<policy::CausalLM> copies, rollout::RolloutBackend& backend, SampleStep sample)
    : backend_(backend), sample_(std::move(sample)), free_(std::move(copies)), thread_([this] { work(); }) {}

SamplingAhead::~SamplingAhead() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void SamplingAhead::launch(int64_t step, policy::CausalLMImpl& policy, int64_t version) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !free_.empty() || failure_; });
  if (failure_) std::rethrow_exception(failure_);
  Launch launch{step, version, free_.back()};
  free_.pop_back();
  lock.unlock();
  {
    torch::NoGradGuard no_grad;
    const auto from = policy.parameters();
    const auto into = launch.weights->parameters();
    for (std::size_t i = 0; i < from.size(); ++i) into[i].copy_(from[i]);
  }
  lock.lock();
  queued_.push_back(std::move(launch));
  changed_.notify_all();
}

void SamplingAhead::put(int64_t step, StepRollouts rollouts) {
  std::lock_guard lock(mutex_);
  done_[step] = std::move(rollouts);
  changed_.notify_all();
}

StepRollouts SamplingAhead::take(int64_t step) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return done_.count(step) || failure_; });
  if (failure_) std::rethrow_exception(failure_);
  StepRollouts rollouts = std::move(done_.at(step));
  done_.erase(step);
  return rollouts;
}

std::map<int64_t, StepRollouts> SamplingAhead::sampled() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return (queued_.empty() && in_progress_ == 0) || failure_; });
  if (failure_) std::rethrow_exception(failure_);
  return done_;
}

void SamplingAhead::work() {
  kernels::set_threads_of_this_thread(1);  // the rollout workers bring their own threads
  for (;;) {
    Launch launch;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
      if (stopping_) return;
      launch = std::move(queued_.front());
      queued_.pop_front();
      ++in_progress_;
    }
    StepRollouts rollouts;
    std::exception_ptr failure;
    try {
      backend_.publish(*launch.weights, launch.version);
      rollouts = sample_(launch.step, launch.version);
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    --in_progress_;
    free_.push_back(std::move(launch.weights));
    if (failure) failure_ = failure;
    else done_[launch.step] = std::move(rollouts);
    changed_.notify_all();
  }
}

}  // namespace aha::rl
