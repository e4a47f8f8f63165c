#pragma once
// The client side of a connection (README glossary: the Docker daemon's connection into regtrace), as
// the exchange relay, the replay responder and the tunnel use it.

#include "capture/model/exchange.hpp"
#include "proxy/io/any_stream.hpp"
#include "proxy/io/cancel_hook.hpp"
#include "proxy/upstream/pool.hpp"

#include <boost/intrusive/list_hook.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace regtrace::proxy {

/// The client side of a connection: its stream (plain, or TLS after CONNECT) and read buffer. Listed
/// in its worker's client_watch for the connection's life (the hook unlinks itself when it goes).
struct client_side
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
  client_side(any_stream stream_in, std::uint64_t id, std::string address_in, upstream_pool* pool_in)
      : stream(std::move(stream_in)), connection_id(id), address(std::move(address_in)), pool(pool_in) {}

  any_stream stream;
  beast::flat_buffer buffer;
  std::uint64_t connection_id = 0;
  std::string address;                  ///< "127.0.0.1:51234"
  std::optional<capture::tls_leg> tls;  ///< after a CONNECT we terminated
  upstream_pool* pool = nullptr;        ///< the pool of this connection's worker
  /// False once an upstream cut a body short: the client then sees the cut too (no close_notify),
  /// as it would without the proxy.
  bool clean_end = true;

  // What the worker's client_watch reads and writes, on this connection's thread.
  bool watch_for_close = false;  ///< an exchange waits on its upstream: watch the client for a close
  /// What the connection waits on besides its own stream: the upstream of a watched exchange (ended
  /// when the client closes), or the TLS stream of a handshake in progress; all ended on stop.
  cancel_hook waiting_on;
  /// When the watch saw the client close while an exchange waited (the exchange records it).
  std::optional<std::chrono::steady_clock::time_point> closed_at;
};

using request_parser = http::request_parser<http::buffer_body>;

}  // namespace regtrace::proxy
