#pragma once
// regtrace's connections to registries: resolve (honouring --resolve), connect, TLS with SNI and
// verification, and a keep-alive pool shared by all client connections. dockerd opens a new client
// connection per request (SPEC §7), so reusing upstream connections across them is what keeps the
// connection path fast; every entry says whether its upstream connection was reused.

#include "capture/model/exchange.hpp"
#include "proxy/io/any_stream.hpp"
#include "proxy/config/config.hpp"
#include "tls/contexts.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

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

/// The outcome of opening a connection: the connection, or the failure with its phase.
struct connect_result {
  std::unique_ptr<upstream_connection> connection;
  std::optional<capture::failure_record> failure;
  bool timed_out = false;                      ///< the failure was a timeout (504 rather than 502)
  capture::timings_ms timings;                 ///< dns, connect, ssl filled in
  std::optional<capture::tls_leg> failed_tls;  ///< what was learnt of a failed handshake
  std::string server_ip;  ///< the address connected to, kept when the handshake then failed
};

/// Idle upstream connections by target, for the connections of one worker (one io_context and
/// thread), so pooled sockets stay on the thread that serves them. The mutex is never held across
/// co_await.
class upstream_pool {
 public:
  explicit upstream_pool(proxy_config const& config) : config_(config) {}

  /// An idle connection to target that the server has not closed meanwhile, or nullptr.
  std::unique_ptr<upstream_connection> take(upstream_target const& target);
  /// Returns a connection whose last response was complete and kept alive.
  void give_back(upstream_target const& target, std::unique_ptr<upstream_connection> connection);
  /// Closes every idle connection (shutdown).
  void clear();

 private:
  proxy_config const& config_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<std::unique_ptr<upstream_connection>>> idle_;
};

/// The trace's record of a TLS leg, from what tls/ learnt of the session.
capture::tls_leg to_tls_leg(tls::session_summary const& summary);

/// Puts what opening a connection learnt on x: the dns, connect and ssl timings and, when it failed,
/// the failure, what was learnt of a failed handshake and the address that was reached. One place for
/// the relay, the passthrough tunnel and the registry client. Returns true when the connection opened.
bool record_connection_attempt(capture::exchange& x, connect_result& opened);

/// Opens a new connection to target: resolve (or --resolve), TCP connect, and TLS for https.
/// upstream_tls is the context for TLS (verification per configuration). Never throws.
net::awaitable<connect_result> open_upstream(upstream_target target, proxy_config const& config,
                                             net::ssl::context& upstream_tls, std::uint64_t id);

}  // namespace regtrace::proxy
