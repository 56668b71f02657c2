// Rollout workers: threads that each hold their own copy of the policy's weights and generate
// the completions of the jobs the trainer submits; finished jobs wait in a bounded queue until
// the trainer takes them. Weights carry a version: publish() copies new weights into every
// replica (waiting for a replica's job in flight to finish), and a result carries the version
// it was sampled with, so a consumer can refuse stale results.
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
  // `workers` replicas of `policy` at weight version `version`; at most `queue_size` finished
  // jobs wait in the queue (a worker blocks while it is full). Each worker's CPU work runs on
  // `threads_per_worker` threads (0: the runtime's default for a new thread).
  RolloutPool(policy::CausalLMImpl& policy, int64_t version, int workers, int queue_size, GenerationSettings settings,
              Detokenize detokenize, int threads_per_worker = 0);
  ~RolloutPool() override;
  RolloutPool(const RolloutPool&) = delete;
  RolloutPool& operator=(const RolloutPool&) = delete;

  // Copies `policy`'s weights into every replica and tags them `version`.
  void publish(policy::CausalLMImpl& policy, int64_t version) override;
  void submit(RolloutJob job) override;
  RolloutResult take() override;

 private:
  struct Replica {
    policy::CausalLM model{nullptr};
    int64_t version = 0;
    std::mutex busy;  // held while the replica generates or is refreshed
  };
  void work(Replica& replica, int threads);

  GenerationSettings settings_;
  Detokenize detokenize_;
  std::vector<std::unique_ptr<Replica>> replicas_;
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
