#include "proxy/upstream/handshake_failure.hpp"

#include "capture/model/failure.hpp"
#include "tls/contexts.hpp"

#include <boost/asio/ssl/error.hpp>

namespace regtrace::proxy {

handshake_failure classify_handshake_failure(std::string_view host,
                                             boost::system::error_code const& handshake_ec,
                                             std::string_view verify_error, bool plain_http) {
  handshake_failure out{handshake_ec, "TLS handshake with " + std::string(host)};
  bool const from_openssl = handshake_ec.category() == boost::asio::error::get_ssl_category();
  auto const openssl_error = static_cast<unsigned long>(handshake_ec.value());
  if (from_openssl) {
    if (auto alert = tls::alert_from_error(openssl_error); !alert.empty()) out.detail += ": " + alert;
  }
  if (plain_http) {
    out.code = capture::errc::upstream_not_tls;
    out.detail += ": the server answered in plain HTTP, so it serves http:// on this port, not TLS";
  } else if (from_openssl && tls::is_protocol_version_error(openssl_error)) {
    out.code = capture::errc::tls_version_too_low;
  } else if (!verify_error.empty() && verify_error != "ok") {
    out.code = capture::errc::upstream_unverified;
    out.detail += ": certificate not trusted (" + std::string(verify_error) +
                  "); add its CA with --upstream-ca FILE, or use --insecure-upstream";
  }
  return out;
}

}  // namespace regtrace::proxy
