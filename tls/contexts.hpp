#pragma once
// The two SSL_CTX kinds regtrace uses (SPEC §3): client-facing (we are the server) and upstream
// (we are the client), and per-connection set-up on an SSL object.

#include "tls/cert_cache.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::tls {

/// Client-facing context: TLS 1.2 and 1.3 only, ECDHE with AEAD suites, ALPN answers only
/// "http/1.1" (never h2; a client offering only h2 gets no ALPN), session tickets on.
/// No certificate: use_identity() sets one per connection.
result<ssl_ctx_ptr> make_client_facing_context();

struct upstream_trust {
  std::vector<std::filesystem::path> extra_ca_files{};  ///< --upstream-ca, added to the system roots
  bool insecure = false;                                ///< --insecure-upstream: no verification
};

/// Upstream context: system roots plus extra CAs, peer verification unless insecure, ALPN
/// "http/1.1", client session cache on (for resumption). An unreadable CA file is an error sentence.
result<ssl_ctx_ptr> make_upstream_context(upstream_trust const& trust);

/// Puts identity's certificate and key on a client-facing SSL before its handshake.
bool use_identity(SSL* ssl, server_identity const& identity);

/// Prepares an upstream SSL before its handshake: SNI (not for IP literals) and hostname / IP
/// verification of the peer certificate. host may carry IPv6 brackets.
bool prepare_upstream(SSL* ssl, std::string_view host);

/// Plain facts of an established (or failed) session.
struct session_summary {
  std::string version;
  std::string cipher;
  std::string alpn;
  std::string sni;
  bool resumed = false;
  bool verified = false;
  std::string verify_error;
  std::vector<std::string> peer_chain;  ///< "CN=..; issuer: CN=..; not after: 2027-01-01"
};
/// Describes ssl; include_peer_chain for the upstream leg.
session_summary describe(SSL const* ssl, bool include_peer_chain);

/// The TLS alert the peer sent us, as "unknown CA (alert 48 received)"; "" if the error is not one.
/// Decodes the reason of the last OpenSSL error (SSL_R_TLSV1_ALERT_* / SSL_R_SSLV3_ALERT_*); an alert
/// we sent leaves no trace in that code, so the caller's own failure reason says why we sent it.
std::string alert_from_error(unsigned long openssl_error);

/// True when the handshake failure reason means the peer sent us an alert.
bool is_alert_received(unsigned long openssl_error);

/// True when the handshake failed on the protocol version: the peer offered or chose TLS 1.1 or
/// older, or answered our TLS 1.2+ offer with a protocol_version alert (catalog A-05).
bool is_protocol_version_error(unsigned long openssl_error);

/// Enables the NSS key log (SSLKEYLOGFILE format) for every session of ctx, appending to file.
result<void> enable_keylog(SSL_CTX* ctx, std::filesystem::path const& file);

}  // namespace regtrace::tls
