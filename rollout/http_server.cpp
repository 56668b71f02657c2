// One Session per connection: read the header (401 / 413 decided before the body), read the
// body within its limit, run the route's handler on the worker thread, write the response, and
// read the next request unless the connection is to close.
#include "rollout/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace aha::rollout {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::State {
  HttpServerSettings settings;
  RolloutHandlers handlers;
  asio::io_context io;
  asio::io_context work;  // the handlers, one at a time
  asio::executor_work_guard<asio::io_context::executor_type> io_guard{io.get_executor()};
  asio::executor_work_guard<asio::io_context::executor_type> work_guard{work.get_executor()};
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<bool> stopped = false;
};

namespace {

using Response = http::response<http::string_body>;

// Compares in time that depends on the lengths only, so the token cannot be guessed byte by byte.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char differ = given.size() != expected.size();
  for (std::size_t i = 0; i < given.size(); ++i)
    differ |= static_cast<unsigned char>(given[i] ^ expected[i % std::max<std::size_t>(expected.size(), 1)]);
  return differ == 0;
}

// The message's first line, at most 1000 bytes: never a stack trace or a file's contents.
std::string error_json(int status, const std::string& message) {
  std::string line = message.substr(0, std::min(message.find('\n'), std::size_t{1000}));
  return nlohmann::json{{"error", {{"message", line}, {"code", status}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<int64_t> weight_version_header(const http::fields& fields) {
  const auto header = fields["X-Weight-Version"];
  if (header.empty()) return std::nullopt;
  try {
    std::size_t used = 0;
    const int64_t version = std::stoll(std::string(header), &used);
    if (used == header.size()) return version;
  } catch (const std::exception&) {
  }
  throw ApiError(400, "X-Weight-Version must be an integer");
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::State& state) : stream_(std::move(socket)), state_(state) {}
  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  void read_header() {
    header_.emplace();
    header_->header_limit(16 << 10);
    header_->body_limit(std::numeric_limits<std::uint64_t>::max());  // decided per route once the header is in
    stream_.expires_after(state_.settings.read_timeout);
    http::async_read_header(stream_, buffer_, *header_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset)
      return close();
    if (ec) return reply_and_close(400, error_json(400, "malformed HTTP request: " + ec.message()));
    const auto& request = header_->get();
    const auto header = request[http::field::authorization];
    const std::string_view authorization(header.data(), header.size());
    if (!authorization.starts_with("Bearer ") || !same_secret(authorization.substr(7), state_.settings.token))
      return reply_and_close(401, error_json(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)"));
    const bool upload = request.target() == "/v1/weights" && request.method() == http::verb::post &&
                        !request[http::field::content_type].starts_with("application/json");
    const std::size_t limit = upload ? state_.settings.max_weights_bytes : state_.settings.max_body_bytes;
    if (header_->content_length() && *header_->content_length() > limit)
      return reply_and_close(413, error_json(413, fmt::format("the body is larger than {} bytes", limit)));
    if (upload) return read_upload(limit);
    body_.emplace(std::move(*header_));
    body_->body_limit(limit);
    http::async_read(stream_, buffer_, *body_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) return reply_and_close(413, error_json(413, "the body is too large"));
    if (ec) return close();
    stream_.expires_never();
    request_ = body_->release();
    const std::string target(request_.target());
    const auto verb = request_.method();
    if (target == "/health" && verb == http::verb::get) return reply_health();
    if (target == "/v1/completions" && verb == http::verb::post)
      return run([](State& s, const auto& r) { return s.handlers.complete(r.body()); });
    if (target == "/v1/weights" && verb == http::verb::post)
      return run([](State& s, const auto& r) {
        return s.handlers.update_weights(WeightUpdate{std::nullopt, r.body(), weight_version_header(r)});
      });
    const bool known = target == "/health" || target == "/v1/completions" || target == "/v1/weights";
    reply(known ? 405 : 404, error_json(known ? 405 : 404, known ? "method not allowed" : "no such route: " + target));
  }

  // A weights body streams into a file of the upload folder, removed once its handler is done.
  void read_upload(std::size_t limit) {
    static std::atomic<uint64_t> uploads = 0;
    upload_path_ = state_.settings.upload_dir / fmt::format("upload-{}.safetensors", uploads++);
    upload_.emplace(std::move(*header_));
    upload_->body_limit(limit);
    beast::error_code ec;
    upload_->get().body().open(upload_path_.c_str(), beast::file_mode::write, ec);
    if (ec) return reply_and_close(500, error_json(500, "cannot store the weights body: " + ec.message()));
    http::async_read(stream_, buffer_, *upload_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_upload(ec); });
  }

  void on_upload(beast::error_code ec) {
    auto upload = upload_->release();
    upload.body().close();
    upload_.reset();
    if (ec) {
      std::error_code ignored;
      std::filesystem::remove(upload_path_, ignored);
      return ec == http::error::body_limit ? reply_and_close(413, error_json(413, "the body is too large")) : close();
    }
    stream_.expires_never();
    request_ = {};
    request_.base() = upload.base();
    const std::filesystem::path file = upload_path_;
    run([file](State& s, const auto& r) {
      struct Remove {
        std::filesystem::path path;
        ~Remove() {
          std::error_code ignored;
          std::filesystem::remove(path, ignored);
        }
      } remove{file};
      return s.handlers.update_weights(WeightUpdate{file, "", weight_version_header(r)});
    });
  }

  void reply_health() {
    try {
      reply(200, state_.handlers.health().dump());
    } catch (const std::exception& e) {
      reply(500, error_json(500, e.what()));
    }
  }

  using State = HttpServer::State;
  // Runs `handler` on the worker thread, then replies on this connection's strand.
  template <class Handler>
  void run(Handler handler) {
    asio::post(state_.work, [self = shared_from_this(), handler] {
      int status = 200;
      std::string body;
      try {
        body = handler(self->state_, self->request_).dump();
      } catch (const ApiError& e) {
        status = e.status();
        body = error_json(status, e.what());
      } catch (const std::exception& e) {
        status = 500;
        body = error_json(500, std::string("internal error: ") + e.what());
      }
      asio::post(self->stream_.get_executor(),
                 [self, status, body = std::move(body)]() mutable { self->reply(status, std::move(body)); });
    });
  }

  void reply(int status, std::string body, bool close_after = false) {
    auto response = std::make_shared<Response>(static_cast<http::status>(status), 11);
    response->set(http::field::content_type, "application/json");
    response->keep_alive(!close_after && request_.keep_alive());
    response->body() = std::move(body);
    response->prepare_payload();
    stream_.expires_after(state_.settings.read_timeout);
    http::async_write(stream_, *response, [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
      if (ec || !response->keep_alive()) return self->close();
      self->request_ = {};
      self->read_header();
    });
  }

  void reply_and_close(int status, std::string body) { reply(status, std::move(body), true); }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  State& state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_;
  std::optional<http::request_parser<http::string_body>> body_;
  std::optional<http::request_parser<http::file_body>> upload_;
  std::filesystem::path upload_path_;
  http::request<http::string_body> request_;
};

void accept(HttpServer::State& state) {
  state.acceptor.async_accept(asio::make_strand(state.io), [&state](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Session>(std::move(socket), state)->start();
    accept(state);
  });
}

}  // namespace

HttpServer::HttpServer(HttpServerSettings settings, RolloutHandlers handlers) : state_(std::make_unique<State>()) {
  state_->settings = std::move(settings);
  state_->handlers = std::move(handlers);
  const auto& s = state_->settings;
  try {
    const tcp::endpoint endpoint(asio::ip::make_address(s.host), s.port);
    state_->acceptor.open(endpoint.protocol());
    state_->acceptor.set_option(asio::socket_base::reuse_address(true));
    state_->acceptor.bind(endpoint);
    state_->acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw Error(fmt::format("cannot listen on {}:{}: {}", s.host, s.port, e.code().message()));
  }
  accept(*state_);
  for (int i = 0; i < std::max(1, s.io_threads); ++i) state_->threads.emplace_back([this] { state_->io.run(); });
  state_->threads.emplace_back([this] { state_->work.run(); });
}

HttpServer::~HttpServer() {
  stop();
  for (auto& t : state_->threads) t.join();
}

uint16_t HttpServer::port() const { return state_->acceptor.local_endpoint().port(); }

void HttpServer::stop() {
  if (state_->stopped.exchange(true)) return;
  state_->io.stop();
  state_->work.stop();
}

}  // namespace aha::rollout
