#pragma once
// Opening regtrace's connections to registries: resolve (honouring --resolve), TCP connect, the CONNECT
// through --upstream-proxy, and TLS with SNI and verification. One place for the relay, the passthrough
// tunnel and the registry client.

#include "capture/model/exchange.hpp"
#include "proxy/config/config.hpp"
#include "proxy/io/cancel_hook.hpp"
#include "proxy/upstream/connection.hpp"
#include "tls/contexts.hpp"

#include <memory>
#include <optional>
#include <string>

namespace regtrace::proxy {

/// The outcome of opening a connection: the connection, or the failure with its phase.
struct connect_result {
  std::unique_ptr<upstream_connection> connection;
  std::optional<capture::failure_record> failure;
  bool timed_out = false;                      ///< the failure was a timeout (504 rather than 502)
  capture::timings_ms timings;                 ///< dns, connect, ssl filled in
  std::optional<capture::tls_leg> failed_tls;  ///< what was learnt of a failed handshake
  std::string server_ip;  ///< the address connected to, kept when the handshake then failed
};

/// The trace's record of a TLS leg, from what tls/ learnt of the session.
capture::tls_leg to_tls_leg(tls::session_summary const& summary);

/// Puts what opening a connection learnt on x: the dns, connect and ssl timings and, when it failed,
/// the failure, what was learnt of a failed handshake and the address that was reached. One place for
/// the relay, the passthrough tunnel and the registry client. Returns true when the connection opened.
bool record_connection_attempt(capture::exchange& x, connect_result& opened);

/// Opens a new connection to target: resolve (or --resolve), TCP connect, and TLS for https.
/// upstream_tls is the context for TLS (verification per configuration). hook, when given, names
/// whatever each step waits on, so that a client that leaves or a stopping server can end the wait
/// (the step then fails with operation_aborted, its timings measured so far). Never throws.
net::awaitable<connect_result> open_upstream(upstream_target target, proxy_config const& config,
                                             net::ssl::context& upstream_tls, std::uint64_t id,
                                             cancel_hook* hook = nullptr);

}  // namespace regtrace::proxy
