#pragma once
// The client side of a connection (README glossary: the Docker daemon's connection into regtrace), as
// the exchange relay, the replay responder and the tunnel use it.

#include "capture/model/exchange.hpp"
#include "proxy/io/any_stream.hpp"
#include "proxy/upstream/pool.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace regtrace::proxy {

/// The client side of a connection: its stream (plain, or TLS after CONNECT) and read buffer.
struct client_side {
  any_stream stream;
  beast::flat_buffer buffer;
  std::uint64_t connection_id = 0;
  std::string address;                  ///< "127.0.0.1:51234"
  std::optional<capture::tls_leg> tls;  ///< after a CONNECT we terminated
  upstream_pool* pool = nullptr;        ///< the pool of this connection's worker
  /// False once an upstream cut a body short: the client then sees the cut too (no close_notify),
  /// as it would without the proxy.
  bool clean_end = true;
};

using request_parser = http::request_parser<http::buffer_body>;

}  // namespace regtrace::proxy
