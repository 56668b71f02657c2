// The rollout service's HTTP server (Boost.Beast over Asio): every request needs
// `Authorization: Bearer TOKEN` (401 otherwise, before its body is read); bodies are size-limited
// (413); a request that is not HTTP or whose JSON is malformed gets 400 and the server goes on;
// a client that sends too slowly is cut off after the read timeout. Routes: GET /health,
// POST /v1/completions, POST /v1/weights. /health answers on the connection's own thread, so a
// long request never stalls it; the other handlers run one at a time on a worker thread, so the
// model they share is never used by two requests at once. A weights body streams to a file in
// `upload_dir` as it arrives. Error bodies carry the first line of the message only.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "rollout/completion_api.hpp"

namespace aha::rollout {

struct HttpServerSettings {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see HttpServer::port)
  std::string token;
  std::size_t max_body_bytes = 16 << 20;                  // /v1/completions and /health
  std::size_t max_weights_bytes = std::size_t{64} << 30;  // /v1/weights
  std::chrono::milliseconds read_timeout{30000};          // to receive one whole request
  int io_threads = 2;
  std::filesystem::path upload_dir;  // where /v1/weights bodies are written; it must exist
};

// A POST /v1/weights: a safetensors body (written to `body_file`, removed after the handler) or
// a JSON body {"path": DIR, "version": N}; `version` from the X-Weight-Version header.
struct WeightUpdate {
  std::optional<std::filesystem::path> body_file;
  std::string json;
  std::optional<int64_t> version;
};

// What the routes do. Each may throw ApiError (its status) or std::exception (500).
struct RolloutHandlers {
  std::function<nlohmann::json()> health;
  std::function<nlohmann::json(const std::string& body)> complete;
  std::function<nlohmann::json(const WeightUpdate& update)> update_weights;
};

class HttpServer {
 public:
  // Binds and starts serving on background threads. Throws aha::Error when the address is taken.
  HttpServer(HttpServerSettings settings, RolloutHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  void stop();  // stops serving; connections in flight are dropped

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace aha::rollout
