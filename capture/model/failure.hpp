#pragma once
// The vocabulary of things that go wrong: where (phase) and what (error code in regtrace's category).
// STYLE rule 5: compare codes to enums, never message() text.

#include <boost/system/error_code.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace regtrace::capture {

/// Where in the life of a connection or exchange a failure happened (SPEC §4, STYLE rule 5).
enum class phase {
  accept,
  connect_request,
  client_tls,
  resolve,
  upstream_connect,
  upstream_tls,
  request_relay,
  response_relay,
  capture,
};

/// The phase's name as written in the trace and in 502/504 bodies ("upstream_tls").
std::string_view to_string(phase p);
/// Inverse of to_string; nullopt for an unknown name.
std::optional<phase> phase_from_string(std::string_view name);

/// Whose stream failed, where the phase leaves it open: a body relay reads one peer and writes the other.
enum class failing_peer {
  unknown,
  client,
  upstream,
};

/// "client", "upstream", or "" for unknown (the trace leaves the field out).
std::string_view to_string(failing_peer peer);
/// Inverse of to_string; unknown for anything else.
failing_peer failing_peer_from_string(std::string_view name);

/// regtrace's own error conditions; system, asio and ssl errors keep their own categories.
enum class errc {
  malformed_request = 1,        ///< request line or header the parser refused
  header_too_large,             ///< request or response header over the limit (431)
  bad_connect_target,           ///< CONNECT authority that is not host:port
  proxy_auth_required,          ///< --proxy-auth set and the client did not match it
  client_rejected_certificate,  ///< the client sent a TLS alert during our handshake
  client_tls_failed,            ///< any other client-side handshake failure
  upstream_unverified,          ///< upstream certificate failed verification
  upstream_closed,              ///< upstream closed before a complete response
  upstream_timeout,             ///< idle timeout while waiting on the upstream
  client_timeout,               ///< idle timeout while waiting on the client
  unsupported_upgrade,          ///< 101 Switching Protocols / Upgrade: not relayed
  replay_no_match,              ///< replay found no recorded answer (SPEC §6)
  tls_version_too_low,          ///< a peer offered or chose only TLS 1.1 or older (catalog A-05)
  replay_body_missing,          ///< replay matched an entry whose body the trace does not hold
  upstream_proxy_refused,       ///< --upstream-proxy answered CONNECT with a non-2xx status (catalog A-02)
  client_abandoned,             ///< the client closed its connection before the exchange ended (peer client)
  proxy_stopped,                ///< regtrace was stopped (Ctrl-C, SIGTERM) with the exchange in flight
  tls_to_proxy_port,            ///< the client began a TLS handshake on regtrace's plain-HTTP port (A-01)
  upstream_not_tls,             ///< the upstream answered regtrace's TLS handshake in plain HTTP (A-17)
};

/// The category of errc ("regtrace").
boost::system::error_category const& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

/// A failure as recorded on an entry: the phase, the code and a sentence for people.
struct failure_record {
  phase where = phase::capture;
  std::string code_category;  ///< "regtrace", "system", "asio.ssl", "beast.http", ...
  int code_value = 0;
  std::string message;  ///< error_code message, e.g. "Connection refused"
  std::string detail;   ///< what regtrace was doing, plus OpenSSL's queue or the TLS alert
  /// Whose stream failed or who stopped: for a body relay, the peer whose read or write failed; for
  /// errc::client_abandoned, the client, in whatever phase regtrace was waiting.
  failing_peer peer = failing_peer::unknown;
};

/// Builds the record from an error code (category name and value kept for rules to compare).
failure_record make_failure(phase where, boost::system::error_code const& ec, std::string detail,
                            failing_peer peer = failing_peer::unknown);

}  // namespace regtrace::capture

namespace boost::system {
template <>
struct is_error_code_enum<regtrace::capture::errc> : std::true_type {};
}  // namespace boost::system
