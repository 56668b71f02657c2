// Rollout jobs spread over remote workers (`aha rollout-worker`, or any server with the same
// /v1/completions and /v1/weights) over HTTP. One thread per endpoint takes jobs from a shared
// queue; a job whose worker dies, times out or answers with an error goes back to the front of
// the queue for another worker, with the same seed, so its completions do not change. A worker
// that failed is not used again; the run goes on while at least one lives. publish() sends the
// new weights as a safetensors body tagged with their version, and every request names the
// version it expects, so a stale worker cannot answer. With a shared folder the weights go
// through storage instead, which other servers with a reload route (SGLang's
// /update_weights_from_disk) understand too.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/http_client.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rollout {

struct RemoteSettings {
  std::vector<std::string> endpoints;  // http://host:port
  std::string token;
  GenerationSettings generation;  // sampling, max_new_tokens, stop, record_routing
  std::chrono::milliseconds timeout{600000};
  std::filesystem::path scratch;  // where the published weights are written before sending
  // Non-empty: weights travel through this shared folder instead of request bodies. Each version
  // is saved there as a Hugging Face checkpoint (with the tokenizer of `tokenizer_from`) and every
  // worker is asked to load it: POST `reload_route` {"path", "model_path", "version"}.
  std::filesystem::path shared_folder;
  std::string reload_route = "/v1/weights";
  std::filesystem::path tokenizer_from;
};

class RemotePool : public RolloutBackend {
 public:
  // Checks every worker's /health and sends it `policy`'s weights as `version`.
  RemotePool(RemoteSettings settings, policy::CausalLMImpl& policy, int64_t version);
  ~RemotePool() override;

  void publish(policy::CausalLMImpl& policy, int64_t version) override;
  void submit(RolloutJob job) override;
  RolloutResult take() override;
  int live_workers() const;

 private:
  struct Worker {
    std::string endpoint;
    HttpTarget target;
    bool alive = true;
    std::string last_error;
  };
  void work(Worker& worker);
  RolloutResult run_job(const Worker& worker, const RolloutJob& job) const;
  void give_up(Worker& worker, const std::string& why);  // with mutex_ held
  // The request that hands a worker version `version`: {route, body, content type, header}.
  std::tuple<std::string, std::string, std::string, std::string> weight_update(policy::CausalLMImpl& policy,
                                                                               int64_t version) const;
  std::string failures() const;  // with mutex_ held

  RemoteSettings settings_;
  std::atomic<int64_t> version_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<RolloutJob> jobs_;
  std::deque<RolloutResult> results_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace aha::rollout
