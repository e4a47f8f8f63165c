#pragma once
// One connection to a registry (or any upstream host) and where it goes: what the pool keeps and
// what opening a connection makes.

#include "capture/model/exchange.hpp"
#include "proxy/io/any_stream.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace regtrace::proxy {

/// One connection to a registry (or any upstream host), with its read buffer.
struct upstream_connection {
  any_stream stream;
  beast::flat_buffer buffer;
  std::uint64_t id = 0;
  std::string server_ip;
  std::optional<capture::tls_leg> tls;
  std::chrono::steady_clock::time_point idle_since{};
};

/// Where a request goes: scheme, host as named by the client, port.
struct upstream_target {
  std::string scheme;  ///< "https" or "http"
  std::string host;
  std::uint16_t port = 0;
  std::string key() const { return scheme + "://" + host + ":" + std::to_string(port); }
};

}  // namespace regtrace::proxy
