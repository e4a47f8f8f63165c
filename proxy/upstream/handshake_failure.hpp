#pragma once
// Why an upstream TLS handshake failed, in the trace's terms (catalog ). A pure function of
// what the handshake reported, so its codes and sentences are unit-tested without a handshake; no
// Beast here.

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

namespace regtrace::proxy {

/// A failed upstream handshake as the trace records it (phase upstream_tls).
struct handshake_failure {
  boost::system::error_code code;
  std::string detail;  ///< "TLS handshake with HOST[: ALERT][: certificate not trusted (...); ...]"
};

/// Classifies a failed handshake with host. From the handshake's error (OpenSSL's, in Asio's ssl
/// category): the alert received, and a protocol version too low (errc::tls_version_too_low). From the
/// certificate verification result (OpenSSL's message; "" or "ok" when nothing failed): a certificate
/// not trusted (errc::upstream_unverified, with what to do about it). plain_http: the server answered
/// in HTTP, not TLS (errc::upstream_not_tls, catalog A-17). Otherwise the handshake's own error.
handshake_failure classify_handshake_failure(std::string_view host,
                                             boost::system::error_code const& handshake_ec,
                                             std::string_view verify_error, bool plain_http = false);

}  // namespace regtrace::proxy
