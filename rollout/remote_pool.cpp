// The remote pool: per-endpoint threads, retries on another worker, versioned weight pushes.
#include "rollout/remote_pool.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "policy/safetensors.hpp"
#include "rollout/completion_api.hpp"
#include "rollout/completion_wire.hpp"

namespace aha::rollout {

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace

RemotePool::RemotePool(RemoteSettings settings, policy::CausalLMImpl& policy, int64_t version)
    : settings_(std::move(settings)) {
  if (settings_.endpoints.empty()) throw Error("rollout.endpoints: no remote workers given");
  for (const auto& endpoint : settings_.endpoints) {
    auto worker = std::make_unique<Worker>();
    worker->endpoint = endpoint;
    worker->target = parse_endpoint(endpoint);
    const HttpReply health = [&] {
      try {
        return http_request(worker->target, "GET", "/health", settings_.token, "", "", std::chrono::seconds(30));
      } catch (const std::exception& e) {
        throw Error(fmt::format("rollout worker {} does not answer: {}", endpoint, e.what()));
      }
    }();
    if (health.status == 401)
      throw Error(fmt::format("rollout worker {} refused the token of rollout.token_file", endpoint));
    if (health.status != 200)
      throw Error(fmt::format("rollout worker {}: /health answered {}: {}", endpoint, health.status, health.body));
    workers_.push_back(std::move(worker));
  }
  publish(policy, version);
  for (auto& worker : workers_) threads_.emplace_back([this, w = worker.get()] { work(*w); });
}

RemotePool::~RemotePool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
}

int RemotePool::live_workers() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(std::count_if(workers_.begin(), workers_.end(), [](const auto& w) { return w->alive; }));
}

void RemotePool::give_up(Worker& worker, const std::string& why) {
  worker.alive = false;
  worker.last_error = why;
  std::cerr << fmt::format("rollout worker {} failed and is no longer used: {}\n", worker.endpoint, why);
  changed_.notify_all();
}

std::string RemotePool::failures() const {
  std::string out;
  for (const auto& w : workers_) out += fmt::format("\n  {}: {}", w->endpoint, w->last_error);
  return out;
}

std::tuple<std::string, std::string, std::string, std::string> RemotePool::weight_update(policy::CausalLMImpl& policy,
                                                                                         int64_t version) const {
  if (!settings_.shared_folder.empty()) {
    const auto folder = settings_.shared_folder / fmt::format("version-{}", version);
    policy::save_causal_lm(policy, folder, settings_.tokenizer_from);
    const auto stale = settings_.shared_folder / fmt::format("version-{}", version - 2);
    if (version >= 2 && std::filesystem::exists(stale)) std::filesystem::remove_all(stale);
    const nlohmann::json body{{"path", folder.string()}, {"model_path", folder.string()}, {"version", version}};
    return {settings_.reload_route, body.dump(), "application/json", ""};
  }
  std::map<std::string, at::Tensor> tensors;
  for (const auto& p : policy.named_parameters()) tensors.emplace(p.key(), p.value().detach());
  std::filesystem::create_directories(settings_.scratch);
  const auto file = settings_.scratch / "published.safetensors";
  policy::write_safetensors(file, tensors);
  return {"/v1/weights", read_file(file), "application/octet-stream", fmt::format("X-Weight-Version: {}", version)};
}

void RemotePool::publish(policy::CausalLMImpl& policy, int64_t version) {
  const auto [route, body, content_type, header] = weight_update(policy, version);
  std::lock_guard lock(mutex_);
  for (auto& worker : workers_) {
    if (!worker->alive) continue;
    try {
      const HttpReply reply =
          http_request(worker->target, "POST", route, settings_.token, body, content_type, settings_.timeout, header);
      if (reply.status != 200) give_up(*worker, fmt::format("weight update answered {}: {}", reply.status, reply.body));
    } catch (const std::exception& e) {
      give_up(*worker, e.what());
    }
  }
  version_ = version;
  if (std::none_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->alive; }))
    throw Error("no rollout worker took the new weights:" + failures());
}

void RemotePool::submit(RolloutJob job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  changed_.notify_all();
}

RolloutResult RemotePool::take() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] {
    return !results_.empty() || std::none_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->alive; });
  });
  if (results_.empty()) throw Error("every rollout worker failed:" + failures());
  RolloutResult result = std::move(results_.front());
  results_.pop_front();
  return result;
}

RolloutResult RemotePool::run_job(const Worker& worker, const RolloutJob& job) const {
  CompletionRequest request;
  request.prompt_ids = job.prompts;
  request.n = job.group_size;
  const GenerationSettings& g = settings_.generation;
  request.max_tokens = g.max_new_tokens;
  request.temperature = g.sampling.temperature;
  request.top_p = g.sampling.top_p;
  request.top_k = g.sampling.top_k;
  request.min_p = g.sampling.min_p;
  request.logprobs = 1;
  request.stop = g.stop;
  request.seed = job.seed;
  request.weight_version = version_.load();
  request.return_routing = g.record_routing;
  const auto began = std::chrono::steady_clock::now();
  const HttpReply reply = http_request(worker.target, "POST", "/v1/completions", settings_.token,
                                       to_json(request).dump(), "application/json", settings_.timeout);
  if (reply.status != 200)
    throw std::runtime_error(fmt::format("/v1/completions answered {}: {}", reply.status, reply.body));
  CompletionResponse response = parse_completion_response(reply.body);
  const std::size_t expected = job.prompts.size() * static_cast<std::size_t>(job.group_size);
  if (response.choices.size() != expected)
    throw std::runtime_error(
        fmt::format("{} completions came back, {} were asked for", response.choices.size(), expected));
  if (response.weight_version && *response.weight_version != version_)
    throw std::runtime_error(
        fmt::format("answered with weight version {}, expected {}", *response.weight_version, version_.load()));
  RolloutResult result;
  result.id = job.id;
  result.weight_version = version_;  // the version asked for, which the worker confirmed or loaded synchronously
  for (auto& choice : response.choices) result.completions.push_back(to_completion(std::move(choice)));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  return result;
}

void RemotePool::work(Worker& worker) {
  for (;;) {
    RolloutJob job;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !worker.alive || !jobs_.empty(); });
      if (stopping_ || !worker.alive) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      RolloutResult result = run_job(worker, job);
      std::lock_guard lock(mutex_);
      results_.push_back(std::move(result));
      changed_.notify_all();
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      jobs_.push_front(std::move(job));  // another worker samples it, with the same seed
      give_up(worker, e.what());
      return;
    }
  }
}

}  // namespace aha::rollout
