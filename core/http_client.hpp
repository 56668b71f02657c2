// A blocking HTTP/1.1 client (Boost.Beast) for the rollout service and the http reward rule: one
// request per call, on a fresh connection, with a deadline for the whole exchange.
#pragma once

#include <chrono>
#include <string>

namespace aha {

struct HttpReply {
  int status = 0;
  std::string body;
};

struct HttpTarget {
  std::string host, port;
};

// The bearer token in the first line of `file`; throws aha::Error when the file is missing or
// that line is empty.
std::string read_bearer_token(const std::string& file);

// "http://HOST:PORT" (or "HOST:PORT") -> host and port; throws aha::Error for anything else.
HttpTarget parse_endpoint(const std::string& endpoint);

// Throws std::runtime_error naming the endpoint when it cannot be reached, the deadline passes
// or the reply is not HTTP. `extra_header` is "Name: value" or empty.
HttpReply http_request(const HttpTarget& target, const std::string& method, const std::string& path,
                       const std::string& token, const std::string& body, const std::string& content_type,
                       std::chrono::milliseconds deadline, const std::string& extra_header = {});

}  // namespace aha
