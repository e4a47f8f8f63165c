// A failed upstream TLS handshake in the trace's terms (catalog ): the code and the sentence
// come from what the handshake reported, with no handshake run here.

#include "proxy/upstream/handshake_failure.hpp"
#include "capture/model/failure.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>

using regtrace::capture::errc;
using regtrace::proxy::classify_handshake_failure;

namespace {

// An error as the TLS stream reports OpenSSL's: the packed error code in Asio's ssl category.
boost::system::error_code openssl_error(int reason) {
  return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), boost::asio::error::get_ssl_category()};
}

}  // namespace

TEST_CASE("a protocol version too low is tls_version_too_low", "[upstream][handshake_failure]") {
  auto const failed =
      classify_handshake_failure("old.example", openssl_error(SSL_R_UNSUPPORTED_PROTOCOL), "");
  CHECK(failed.code == errc::tls_version_too_low);
  CHECK(failed.detail == "TLS handshake with old.example");

  SECTION("also when the registry says so with an alert, which the sentence names") {
    auto const alerted =
        classify_handshake_failure("old.example", openssl_error(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION), "");
    CHECK(alerted.code == errc::tls_version_too_low);
    CHECK(alerted.detail == "TLS handshake with old.example: protocol version (alert 70 received)");
  }
  SECTION("and before an unverified certificate") {
    auto const both = classify_handshake_failure("old.example", openssl_error(SSL_R_VERSION_TOO_LOW),
                                                 "self-signed certificate");
    CHECK(both.code == errc::tls_version_too_low);
    CHECK(both.detail == "TLS handshake with old.example");
  }
}

TEST_CASE("a certificate not trusted is upstream_unverified, with what to do",
          "[upstream][handshake_failure]") {
  auto const failed =
      classify_handshake_failure("registry.internal", openssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED),
                                 "unable to get local issuer certificate");
  CHECK(failed.code == errc::upstream_unverified);
  CHECK(failed.detail ==
        "TLS handshake with registry.internal: certificate not trusted (unable to get local issuer "
        "certificate); "
        "add its CA with --upstream-ca FILE, or use --insecure-upstream");

  SECTION("whatever error ended the handshake") {
    auto const timed_out = classify_handshake_failure("registry.internal", boost::asio::error::timed_out,
                                                      "self-signed certificate");
    CHECK(timed_out.code == errc::upstream_unverified);
    CHECK_THAT(timed_out.detail,
               Catch::EndsWith("(self-signed certificate); add its CA with --upstream-ca FILE, "
                               "or use --insecure-upstream"));
  }
}

TEST_CASE("any other failed handshake keeps its own error", "[upstream][handshake_failure]") {
  SECTION("an alert from the registry is named") {
    auto const ec = openssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA);
    auto const failed = classify_handshake_failure("registry.example", ec, "ok");
    CHECK(failed.code == ec);
    CHECK(failed.detail == "TLS handshake with registry.example: unknown CA (alert 48 received)");
  }
  SECTION("an OpenSSL error without an alert") {
    auto const ec = openssl_error(SSL_R_NO_SHARED_CIPHER);
    auto const failed = classify_handshake_failure("registry.example", ec, "");
    CHECK(failed.code == ec);
    CHECK(failed.detail == "TLS handshake with registry.example");
  }
  SECTION("an error of another category, even with a protocol-version value") {
    boost::system::error_code const ec(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_UNSUPPORTED_PROTOCOL)),
                                       boost::system::system_category());
    auto const failed = classify_handshake_failure("registry.example", ec, "ok");
    CHECK(failed.code == ec);
    CHECK(failed.detail == "TLS handshake with registry.example");
  }
  SECTION("a connection reset") {
    boost::system::error_code const ec = boost::asio::error::connection_reset;
    auto const failed = classify_handshake_failure("registry.example", ec, "");
    CHECK(failed.code == ec);
    CHECK(failed.detail == "TLS handshake with registry.example");
  }
}
