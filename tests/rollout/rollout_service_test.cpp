// The rollout service over real HTTP on loopback: remote workers give the completions, log-probs
// and MoE routing of the in-process pool for the same jobs and seeds, before and after a weight
// update; a worker that dies mid-request has its job sampled by another; a wrong token gets 401;
// malformed, oversized and slow requests are refused and the server keeps answering; weight
// updates stay inside the weights folder, refuse NaN and backward versions, and stream to disk.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <thread>

#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "rollout/completion_engine.hpp"
#include "rollout/remote_pool.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::rollout;

namespace {

const std::filesystem::path work = std::filesystem::temp_directory_path() /
                                   ("aha-service-" + std::to_string(::getpid()));
const std::string token = "test-token";

// The tiny qwen3_moe with a tokenizer (ids below its vocabulary decode; EOS is id 0).
std::filesystem::path moe_folder() {
  const auto dir = work / "moe";
  if (std::filesystem::exists(dir / "tokenizer.json")) return dir;
  std::filesystem::create_directories(dir);
  for (const char* file : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(source_dir() / "tests/fixtures/models/qwen3_moe" / file, dir / file);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(source_dir() / "tests/fixtures/models/tiny_with_tokenizer" / file, dir / file);
  return dir;
}

GenerationSettings generation() {
  GenerationSettings g;
  g.sampling = {1.3, 0, 0.95, 0.0};
  g.max_new_tokens = 8;
  g.eos_ids = {0};
  g.pad_id = 0;
  g.record_routing = true;
  return g;
}

// A rollout worker in this process: the engine behind a real HTTP server on a free port;
// `customize` may replace its handlers.
struct LocalWorker {
  using Customize = std::function<void(RolloutHandlers&, LocalWorker&)>;
  explicit LocalWorker(const std::string& name, const Customize& customize = {},
                       std::chrono::milliseconds read_timeout = std::chrono::milliseconds(300))
      : engine(policy::load_causal_lm(moe_folder()), policy::Tokenizer::from_file(moe_folder()), "moe",
               EngineSettings{work / name, work / "shared", 4096}) {
    HttpServerSettings s;
    s.token = token;
    s.read_timeout = read_timeout;
    s.max_body_bytes = 1 << 16;
    s.max_weights_bytes = 64 << 20;
    s.upload_dir = work / name / "uploads";
    std::filesystem::create_directories(s.upload_dir);
    RolloutHandlers handlers = engine.handlers();
    if (customize) customize(handlers, *this);
    server = std::make_unique<HttpServer>(s, handlers);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  CompletionEngine engine;
  std::unique_ptr<HttpServer> server;
};

std::vector<RolloutJob> jobs() {
  return {RolloutJob{0, {{5, 17, 99, 3}, {41, 9}}, 3, 101}, RolloutJob{1, {{76, 14, 58, 101, 6}}, 3, 102},
          RolloutJob{2, {{8, 8, 8}, {120, 2}}, 3, 103}};
}

std::map<int64_t, RolloutResult> run_all(RolloutBackend& pool) {
  for (auto& job : jobs()) pool.submit(job);
  std::map<int64_t, RolloutResult> out;
  for (std::size_t i = 0; i < jobs().size(); ++i) {
    RolloutResult r = pool.take();
    out[r.id] = std::move(r);
  }
  return out;
}

void check_same(const std::map<int64_t, RolloutResult>& a, const std::map<int64_t, RolloutResult>& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [id, result] : a) {
    const auto& other = b.at(id);
    CHECK(result.weight_version == other.weight_version);
    REQUIRE(result.completions.size() == other.completions.size());
    for (std::size_t i = 0; i < result.completions.size(); ++i) {
      const Completion &x = result.completions[i], &y = other.completions[i];
      CHECK(x.tokens == y.tokens);
      CHECK(x.logprobs == y.logprobs);
      CHECK(x.finish == y.finish);
      REQUIRE(x.routing.defined());
      REQUIRE(y.routing.defined());
      CHECK(at::equal(x.routing, y.routing));
    }
  }
}

RemoteSettings remote(std::vector<std::string> endpoints) {
  RemoteSettings s;
  s.endpoints = std::move(endpoints);
  s.token = token;
  s.generation = generation();
  s.timeout = std::chrono::seconds(30);
  s.scratch = work / "published";
  return s;
}

HttpReply get_health(const LocalWorker& w, const std::string& with_token = token) {
  return http_request(parse_endpoint(w.endpoint()), "GET", "/health", with_token, "", "", std::chrono::seconds(5));
}

// Writes `bytes` to the worker on a raw socket, waits `pause`, and returns what came back.
std::string raw_exchange(const LocalWorker& w, const std::string& bytes, std::chrono::milliseconds pause = {}) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), w.server->port()});
  boost::system::error_code ec;
  boost::asio::write(socket, boost::asio::buffer(bytes), ec);
  if (pause.count() > 0) std::this_thread::sleep_for(pause);
  std::string reply(4096, '\0');
  const std::size_t n = socket.read_some(boost::asio::buffer(reply), ec);
  reply.resize(ec && n == 0 ? 0 : n);
  return reply;
}

}  // namespace

TEST_CASE(
    "remote workers give the in-process pool's completions, log-probs and routing, before and after new weights") {
  auto policy = policy::load_causal_lm(moe_folder());
  LocalWorker a("a"), b("b");
  RolloutPool local(*policy, 0, 2, 8, generation(), {});
  RemotePool pool(remote({a.endpoint(), b.endpoint()}), *policy, 0);
  check_same(run_all(local), run_all(pool));

  {
    torch::NoGradGuard no_grad;
    for (auto& p : policy->parameters()) p.add_(at::randn_like(p), 0.05);
  }
  local.publish(*policy, 1);
  pool.publish(*policy, 1);
  CHECK(get_health(a).body.find("\"weight_version\":1") != std::string::npos);
  const auto after = run_all(pool);
  check_same(run_all(local), after);
  CHECK(after.at(0).weight_version == 1);
}

TEST_CASE("weights can travel through a shared folder instead of request bodies") {
  auto policy = policy::load_causal_lm(moe_folder());
  LocalWorker a("folder-a");
  RolloutPool local(*policy, 0, 1, 8, generation(), {});
  RemoteSettings settings = remote({a.endpoint()});
  settings.shared_folder = work / "shared";
  settings.tokenizer_from = moe_folder();
  RemotePool pool(settings, *policy, 0);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : policy->parameters()) p.add_(at::randn_like(p), 0.05);
  }
  local.publish(*policy, 1);
  pool.publish(*policy, 1);
  pool.publish(*policy, 2);
  local.publish(*policy, 2);
  check_same(run_all(local), run_all(pool));
  CHECK(std::filesystem::exists(work / "shared/version-2/model.safetensors"));
  CHECK(std::filesystem::exists(work / "shared/version-2/tokenizer.json"));
  CHECK_FALSE(std::filesystem::exists(work / "shared/version-0"));  // only the last two versions stay
}

TEST_CASE("a worker that dies mid-request has its job sampled by another, and the last failure stops the run") {
  auto policy = policy::load_causal_lm(moe_folder());
  std::atomic<int> died{0};
  LocalWorker healthy("healthy");
  // This worker's server stops while it holds a request: the trainer's connection goes dead.
  LocalWorker doomed("doomed", [&died](RolloutHandlers& h, LocalWorker& self) {
    h.complete = [&died, &self](const std::string&) -> nlohmann::json {
      ++died;
      self.server->stop();
      throw std::runtime_error("gone");
    };
  });
  RolloutPool local(*policy, 0, 1, 8, generation(), {});
  RemoteSettings settings = remote({doomed.endpoint(), healthy.endpoint()});
  settings.timeout = std::chrono::seconds(2);
  RemotePool pool(settings, *policy, 0);
  check_same(run_all(local), run_all(pool));
  CHECK(died == 1);
  CHECK(pool.live_workers() == 1);

  healthy.server->stop();
  pool.submit(jobs().front());
  CHECK_THROWS_WITH(pool.take(), Catch::Contains("every rollout worker failed") && Catch::Contains(healthy.endpoint()));
}

TEST_CASE("a wrong or missing token gets 401, unknown routes 404, bad requests 400") {
  LocalWorker w("auth");
  CHECK(get_health(w).status == 200);
  CHECK(get_health(w, "wrong").status == 401);
  const auto target = parse_endpoint(w.endpoint());
  CHECK(http_request(target, "GET", "/nowhere", token, "", "", std::chrono::seconds(5)).status == 404);
  const auto bad = http_request(target, "POST", "/v1/completions", token, R"({"prompt": [[1, 2]], "n": 0})",
                                "application/json", std::chrono::seconds(5));
  CHECK(bad.status == 400);
  CHECK(bad.body.find("\\\"n\\\" must be between 1 and 1024") != std::string::npos);
  const auto stale = http_request(target, "POST", "/v1/completions", token,
                                  R"({"prompt": [[1, 2]], "weight_version": 7})", "application/json",
                                  std::chrono::seconds(5));
  CHECK(stale.status == 409);
  const auto text = http_request(target, "POST", "/v1/completions", token,
                                 R"({"prompt": "12", "max_tokens": 3, "n": 2, "seed": 5, "logprobs": 1})",
                                 "application/json", std::chrono::seconds(5));
  INFO(text.body);
  REQUIRE(text.status == 200);
  const auto reply = nlohmann::json::parse(text.body);
  CHECK(reply["object"] == "text_completion");
  CHECK(reply["choices"].size() == 2);
  CHECK(reply["choices"][0]["logprobs"]["token_logprobs"].size() == reply["choices"][0]["token_ids"].size());
  const auto outside = http_request(target, "POST", "/v1/completions", token, R"({"prompt": "hello"})",
                                    "application/json", std::chrono::seconds(5));
  CHECK(outside.status == 400);
  CHECK(outside.body.find("outside the vocabulary") != std::string::npos);
}

TEST_CASE("/health still answers after 1000 malformed or oversized or slow requests") {
  LocalWorker w("hostile");
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  const std::vector<std::string> hostile{
      "this is not HTTP\r\n\r\n",
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 9\r\n\r\n{not json",
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 2\r\n\r\n[]",
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 10000000\r\n\r\n{",
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
      "POST /v1/weights HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 5\r\n\r\nnope!",
      "GET /health HTTP/1.1\r\nHost: x\r\n" + std::string(20000, 'X') + ": y\r\n\r\n",
  };
  const std::string slow = "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + auth +
                           "Content-Length: 40\r\n\r\n{\"prompt\"";
  std::map<std::string, int> replies;
  for (int i = 0; i < 995; ++i) {
    const std::string reply = raw_exchange(w, hostile[static_cast<std::size_t>(i) % hostile.size()]);
    ++replies[reply.substr(0, 12)];
  }
  for (int i = 0; i < 5; ++i) {  // part of a body, then silence past the read timeout: the server hangs up
    const std::string reply = raw_exchange(w, slow, std::chrono::milliseconds(400));
    INFO(reply);
    CHECK(reply.empty());
  }
  for (const auto& [status, count] : replies) {
    INFO(status);
    CHECK((status.empty() || status == "HTTP/1.1 400" || status == "HTTP/1.1 401" || status == "HTTP/1.1 413"));
  }
  CHECK(replies["HTTP/1.1 400"] > 0);
  CHECK(replies["HTTP/1.1 401"] > 0);
  CHECK(replies["HTTP/1.1 413"] > 0);
  const auto health = get_health(w);
  CHECK(health.status == 200);
  CHECK(nlohmann::json::parse(health.body)["status"] == "ok");
}

namespace {

HttpReply post_weights_json(const LocalWorker& w, const std::string& json) {
  return http_request(parse_endpoint(w.endpoint()), "POST", "/v1/weights", token, json, "application/json",
                      std::chrono::seconds(10));
}

HttpReply post_weights_body(const LocalWorker& w, const std::string& body, const std::string& version) {
  return http_request(parse_endpoint(w.endpoint()), "POST", "/v1/weights", token, body, "application/octet-stream",
                      std::chrono::seconds(10), "X-Weight-Version: " + version);
}

int64_t health_version(const LocalWorker& w) {
  return nlohmann::json::parse(get_health(w).body)["weight_version"].get<int64_t>();
}

// The worker's model as a safetensors body, with `poison` applied to its first parameter.
std::string weights_body(const std::string& name, const std::function<void(at::Tensor&)>& poison = {}) {
  auto model = policy::load_causal_lm(moe_folder());
  if (poison) {
    torch::NoGradGuard no_grad;
    auto first = model->parameters().front();
    poison(first);
  }
  const auto dir = work / ("body-" + name);
  std::filesystem::create_directories(dir);
  policy::write_model_files(*model, dir);
  return read_file(dir / "model.safetensors");
}

}  // namespace

TEST_CASE("weight updates: paths only inside the weights folder, no NaN, no going back, no file shown") {
  LocalWorker w("guarded-weights");
  std::filesystem::create_directories(work / "shared");
  for (const std::string& path : {std::string("/etc/shadow"), std::string("/etc"), (work / "shared/../moe").string()}) {
    const auto reply = post_weights_json(w, nlohmann::json{{"path", path}, {"version", 1}}.dump());
    INFO(reply.body);
    CHECK(reply.status == 403);
    CHECK(reply.body.find("outside this worker's weights folder") != std::string::npos);
  }
  std::filesystem::remove(work / "shared/escape");
  std::filesystem::create_directory_symlink("/etc", work / "shared/escape");
  CHECK(post_weights_json(w, nlohmann::json{{"path", (work / "shared/escape/passwd").string()}, {"version", 1}}.dump())
            .status == 403);
  CHECK_FALSE(std::filesystem::exists(work / "guarded-weights/incoming"));  // nothing was copied

  const auto nan = post_weights_body(w, weights_body("nan", [](at::Tensor& p) { p.view(-1)[3] = NAN; }), "1");
  CHECK(nan.status == 400);
  CHECK(nan.body.find("NaN or infinite") != std::string::npos);
  CHECK(health_version(w) == 0);
  CHECK(post_weights_body(w, weights_body("clean"), "-1").status == 400);
  CHECK(post_weights_body(w, weights_body("clean"), "2").status == 200);
  CHECK(health_version(w) == 2);
  const auto backward = post_weights_body(w, weights_body("clean"), "1");
  CHECK(backward.status == 409);
  CHECK(health_version(w) == 2);
  const auto garbage = post_weights_body(w, std::string(1000, '\x7f'), "3");
  CHECK(garbage.status == 400);
  CHECK(garbage.body.find("Exception raised from") == std::string::npos);
  CHECK(garbage.body.find('\n') == std::string::npos);
  CHECK(std::filesystem::is_empty(work / "guarded-weights/uploads"));  // bodies are removed once loaded or refused
}

TEST_CASE("a weights body streams to disk as it arrives") {
  LocalWorker w("streaming", {}, std::chrono::seconds(20));
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), w.server->port()});
  const std::size_t total = 32 << 20, first = 8 << 20;
  const std::string header = "POST /v1/weights HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                             "\r\nX-Weight-Version: 1\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(header));
  const std::string chunk(1 << 20, 'z');
  for (std::size_t sent = 0; sent < first; sent += chunk.size()) boost::asio::write(socket, boost::asio::buffer(chunk));
  std::uintmax_t stored = 0;
  for (int attempt = 0; attempt < 100 && stored < first; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (const auto& entry : std::filesystem::directory_iterator(work / "streaming/uploads"))
      stored = std::max(stored, entry.file_size());
  }
  CHECK(stored >= first);
  for (std::size_t sent = first; sent < total; sent += chunk.size())
    boost::asio::write(socket, boost::asio::buffer(chunk));
  std::string reply(4096, '\0');
  boost::system::error_code ec;
  reply.resize(socket.read_some(boost::asio::buffer(reply), ec));
  CHECK(reply.starts_with("HTTP/1.1 400"));  // 32 MB of 'z' is no safetensors file
}

TEST_CASE("a prompt past the context or a request past the work limit is refused; /health answers during a long one") {
  std::atomic<bool> holding{false};
  LocalWorker w("bounded");
  const auto target = parse_endpoint(w.endpoint());
  std::vector<int> long_prompt(250, 5);
  const auto past_context = http_request(target, "POST", "/v1/completions", token,
                                         nlohmann::json{{"prompt", {long_prompt}}, {"max_tokens", 10}}.dump(),
                                         "application/json", std::chrono::seconds(5));
  CHECK(past_context.status == 400);
  CHECK(past_context.body.find("context of 256 tokens") != std::string::npos);
  const auto too_much = http_request(target, "POST", "/v1/completions", token,
                                     nlohmann::json{{"prompt", {{5, 6}}}, {"max_tokens", 100}, {"n", 100}}.dump(),
                                     "application/json", std::chrono::seconds(5));
  CHECK(too_much.status == 400);
  CHECK(too_much.body.find("above this worker's limit of 4096") != std::string::npos);

  LocalWorker slow("slow", [&holding](RolloutHandlers& h, LocalWorker&) {
    h.complete = [&holding](const std::string&) -> nlohmann::json {
      holding = true;
      std::this_thread::sleep_for(std::chrono::seconds(3));
      return nlohmann::json::object();
    };
  });
  std::thread request([&slow] {
    http_request(parse_endpoint(slow.endpoint()), "POST", "/v1/completions", token, R"({"prompt": [[1]]})",
                 "application/json", std::chrono::seconds(10));
  });
  while (!holding) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto began = std::chrono::steady_clock::now();
  CHECK(get_health(slow).status == 200);
  CHECK(std::chrono::steady_clock::now() - began < std::chrono::seconds(1));
  request.join();
}
