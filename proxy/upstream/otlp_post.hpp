#pragma once
// Internal to proxy/upstream: one OTLP/HTTP export request (POST /v1/traces, application/x-protobuf)
// and what came of it, for otlp_exporter.cpp, which decides about retries. Heavy (Asio).

#include "proxy/io/net.hpp"
#include "proxy/upstream/otlp_exporter.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace regtrace::proxy {

/// The answer to one POST, or why there was none.
struct post_outcome {
  int status = 0;                                   ///< 0: no answer (ec and step say why)
  std::optional<std::chrono::seconds> retry_after;  ///< Retry-After in delay-seconds form
  std::int64_t rejected_spans = 0;                  ///< partial success in a 2xx answer
  beast::error_code ec;
  char const* step = "";  ///< "resolve", "connect", "write", "read"
};

/// "HTTP 503 Service Unavailable" or "connect: Connection refused".
std::string describe(post_outcome const& outcome);

/// Resolves, connects, sends body and reads the answer on a new connection; each step is bounded by
/// timeout. Never throws.
net::awaitable<post_outcome> post_spans(otlp_endpoint endpoint, std::shared_ptr<std::string const> body,
                                        std::chrono::milliseconds timeout);

}  // namespace regtrace::proxy
