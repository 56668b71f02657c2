// RolloutPool: worker threads over the policy's weights, a job queue and a bounded result queue.
#include "rollout/worker_pool.hpp"

#include <ATen/Context.h>

#include <chrono>

#include "kernels/cpu_threads.hpp"

namespace aha::rollout {

at::Generator seeded_generator(const at::Device& device, uint64_t seed) {
  at::Generator generator = at::globalContext().defaultGenerator(device).clone();
  generator.set_current_seed(seed);
  return generator;
}

RolloutPool::RolloutPool(policy::CausalLMImpl& policy, int64_t version, int workers, int queue_size,
                         GenerationSettings settings, Detokenize detokenize, int threads_per_worker)
    : settings_(std::move(settings)),
      detokenize_(std::move(detokenize)),
      model_(std::static_pointer_cast<policy::CausalLMImpl>(policy.shared_from_this())),
      version_(version),
      queue_size_(std::max(queue_size, 1)) {
  for (int w = 0; w < std::max(workers, 1); ++w) workers_.push_back(std::make_unique<Worker>());
  for (auto& worker : workers_)
    threads_.emplace_back([this, w = worker.get(), threads_per_worker] { work(*w, threads_per_worker); });
}

RolloutPool::~RolloutPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
}

void RolloutPool::publish(policy::CausalLMImpl& policy, int64_t version) {
  std::vector<std::unique_lock<std::mutex>> idle;
  for (auto& worker : workers_) idle.emplace_back(worker->busy);
  model_ = std::static_pointer_cast<policy::CausalLMImpl>(policy.shared_from_this());
  version_ = version;
}

void RolloutPool::submit(RolloutJob job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  changed_.notify_all();
}

RolloutResult RolloutPool::take() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !results_.empty() || failure_; });
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  RolloutResult result = std::move(results_.front());
  results_.pop_front();
  changed_.notify_all();
  return result;
}

void RolloutPool::work(Worker& worker, int threads) {
  if (threads > 0) kernels::set_threads_of_this_thread(threads);
  for (;;) {
    RolloutJob job;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    RolloutResult result;
    result.id = job.id;
    try {
      std::lock_guard busy(worker.busy);
      const auto began = std::chrono::steady_clock::now();
      at::Generator generator = seeded_generator(model_->lm_head_weight().device(), job.seed);
      result.completions = generate(*model_, job.prompts, job.group_size, settings_, generator, detokenize_);
      result.weight_version = version_;
      result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    } catch (...) {
      std::lock_guard lock(mutex_);
      failure_ = std::current_exception();
      changed_.notify_all();
      continue;
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopping_ || results_.size() < queue_size_; });
    if (stopping_) return;
    results_.push_back(std::move(result));
    changed_.notify_all();
  }
}

}  // namespace aha::rollout
