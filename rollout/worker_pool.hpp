// Rollout workers: threads that generate the completions of the jobs the trainer submits, all
// reading the policy's own weights (no copies: a 0.5B model's weights are 2 GB); finished jobs
// wait in a bounded queue until the trainer takes them. Weights carry a version: publish() waits
// for the jobs in flight and tags the weights the workers read from then on, and a result carries
// the version it was sampled with, so a consumer can refuse stale results.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "policy/transformer.hpp"
#include "rollout/generator.hpp"

namespace aha::rollout {

struct RolloutJob {
  int64_t id = 0;
  std::vector<std::vector<int64_t>> prompts;
  int group_size = 1;
  uint64_t seed = 0;  // the job's sampling seed: the same seed gives the same completions
};

struct RolloutResult {
  int64_t id = 0;
  int64_t weight_version = 0;
  std::vector<Completion> completions;  // prompts.size() * group_size, grouped by prompt
  double seconds = 0.0;                 // generation time
};

// Where rollout jobs go: worker threads in this process (RolloutPool) or remote workers over
// HTTP (RemotePool). The trainer submits a step's jobs, takes every result, then publishes the
// new weights.
class RolloutBackend {
 public:
  virtual ~RolloutBackend() = default;
  virtual void publish(policy::CausalLMImpl& policy, int64_t version) = 0;
  virtual void submit(RolloutJob job) = 0;
  // The next finished job, in completion order; rethrows the exception of a failed job.
  virtual RolloutResult take() = 0;
};

class RolloutPool : public RolloutBackend {
 public:
  // `workers` threads sampling from `policy` at weight version `version`; at most `queue_size`
  // finished jobs wait in the queue (a worker blocks while it is full). Each worker's CPU work
  // runs on `threads_per_worker` threads (0: the runtime's default for a new thread). The policy
  // must not change while a job is in flight: change it between take() and publish().
  RolloutPool(policy::CausalLMImpl& policy, int64_t version, int workers, int queue_size, GenerationSettings settings,
              Detokenize detokenize, int threads_per_worker = 0);
  ~RolloutPool() override;
  RolloutPool(const RolloutPool&) = delete;
  RolloutPool& operator=(const RolloutPool&) = delete;

  // From the next job on, workers sample from `policy` and tag their results `version`.
  void publish(policy::CausalLMImpl& policy, int64_t version) override;
  void submit(RolloutJob job) override;
  RolloutResult take() override;

 private:
  struct Worker {
    std::mutex busy;  // held while the worker generates
  };
  void work(Worker& worker, int threads);

  GenerationSettings settings_;
  Detokenize detokenize_;
  std::shared_ptr<policy::CausalLMImpl> model_;  // the weights every worker reads
  int64_t version_ = 0;                          // changed only while every worker's `busy` is held
  std::vector<std::unique_ptr<Worker>> workers_;
  std::size_t queue_size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<RolloutJob> jobs_;
  std::deque<RolloutResult> results_;
  std::exception_ptr failure_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// A sampling generator on `device` seeded with `seed`.
at::Generator seeded_generator(const at::Device& device, uint64_t seed);

}  // namespace aha::rollout
