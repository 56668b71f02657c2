// Sampling ahead (rollout.max_staleness = k > 0): a thread of its own samples the next k steps
// while the trainer trains, so a step costs about max(sampling, training) instead of their sum.
// The schedule alone fixes which weights sample a step, never timing: the trainer launches step
// s + k just before it trains step s, with the weights after step s - 1, so step s's batch always
// comes from the weights after step s - 1 - k (the run's first weights for its first k steps).
// Each step in flight holds one of k copies of the weights; the rollout backend is published with
// that copy and its version just before the step samples, so results repeat bit for bit.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "policy/transformer.hpp"
#include "rl/step_sampling.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rl {

class SamplingAhead {
 public:
  // Samples one step with the weights the backend was just published with, tagged `version`.
  using SampleStep = std::function<StepRollouts(int64_t step, int64_t version)>;

  // `copies`: models of the policy's architecture whose weights are overwritten at each launch.
  SamplingAhead(std::vector<policy::CausalLM> copies, rollout::RolloutBackend& backend, SampleStep sample);
  ~SamplingAhead();  // lets the step in progress finish, samples no more
  SamplingAhead(const SamplingAhead&) = delete;
  SamplingAhead& operator=(const SamplingAhead&) = delete;

  // Queues `step`, to be sampled from a copy of `policy`'s weights as they are now.
  void launch(int64_t step, policy::CausalLMImpl& policy, int64_t version);
  // Rollouts of `step` sampled earlier (by the run a checkpoint resumes).
  void put(int64_t step, StepRollouts rollouts);
  // Waits for `step`'s rollouts; rethrows the error of a step that failed.
  StepRollouts take(int64_t step);
  // Waits until every launched step is sampled and returns them all, in step order, keeping them
  // (a checkpoint saves them, and the sampler's state after them).
  std::map<int64_t, StepRollouts> sampled();

 private:
  struct Launch {
    int64_t step = 0, version = 0;
    policy::CausalLM weights{nullptr};
  };
  void work();

  rollout::RolloutBackend& backend_;
  SampleStep sample_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<policy::CausalLM> free_;  // copies no launched step holds
  std::deque<Launch> queued_;
  std::map<int64_t, StepRollouts> done_;
  int in_progress_ = 0;
  std::exception_ptr failure_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aha::rl
