// http_request(): connect, write, read, within one deadline, on a private io_context.
#include "core/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <fstream>
#include <regex>
#include <stdexcept>

#include "core/error.hpp"

namespace aha {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string read_bearer_token(const std::string& file) {
  std::ifstream in(file);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty())
    throw Error(fmt::format("{}: the token file is missing or empty; put the bearer token on its first line", file));
  return token;
}

HttpTarget parse_endpoint(const std::string& endpoint) {
  static const std::regex form(R"((?:http://)?([^/:\s]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})/?)");
  std::smatch m;
  if (!std::regex_match(endpoint, m, form))
    throw Error(fmt::format("rollout endpoint \"{}\": expected http://HOST:PORT", endpoint));
  return {m[1], m[2]};
}

HttpReply http_request(const HttpTarget& target, const std::string& method, const std::string& path,
                       const std::string& token, const std::string& body, const std::string& content_type,
                       std::chrono::milliseconds deadline, const std::string& extra_header) {
  const std::string where = fmt::format("http://{}:{}{}", target.host, target.port, path);
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::string_body> request(http::string_to_verb(method), path, 11);
  request.set(http::field::host, target.host);
  request.set(http::field::authorization, "Bearer " + token);
  if (!content_type.empty()) request.set(http::field::content_type, content_type);
  if (const auto colon = extra_header.find(':'); colon != std::string::npos)
    request.set(extra_header.substr(0, colon), extra_header.substr(colon + 1 + (extra_header[colon + 1] == ' ')));
  request.body() = body;
  request.prepare_payload();
  request.keep_alive(false);

  beast::error_code failure;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::size_t{1} << 34);
  stream.expires_after(deadline);
  tcp::resolver resolver(io);
  resolver.async_resolve(target.host, target.port, [&](beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return void(failure = ec);
    stream.async_connect(results, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return void(failure = ec);
      http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
        if (ec) return void(failure = ec);
        http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) { failure = ec; });
      });
    });
  });
  io.run();
  if (failure) throw std::runtime_error(fmt::format("{}: {}", where, failure.message()));
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return {static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace aha
