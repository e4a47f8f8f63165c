#include "tls/contexts.hpp"

#include "tests/support/tls_helpers.hpp"

#include <catch2/catch.hpp>

#include <openssl/err.h>

using namespace regtrace::tls;
using regtrace::tls::test::run_handshake;
using regtrace::tls::test::temp_dir;
using regtrace::tls::test::write_text;
namespace fs = std::filesystem;

namespace {

/// A CA, its cache, the client-facing context, and an upstream context trusting the CA.
struct contexts_fixture {
  temp_dir tmp;
  std::shared_ptr<authority const> ca = authority::load_or_create(tmp.path() / "ca").value();
  std::shared_ptr<cert_cache> cache = cert_cache::create(ca).value();
  ssl_ctx_ptr client_facing = make_client_facing_context().value();
  ssl_ctx_ptr upstream = make_upstream_context({.extra_ca_files = {ca->certificate_path()}}).value();

  /// The proxy's server end for host, as client_session sets it up.
  ssl_ptr server_for(std::string_view host) const {
    ssl_ptr ssl{SSL_new(client_facing.get())};
    REQUIRE(ssl);
    auto identity = cache->identity_for(host);
    REQUIRE(identity.has_value());
    REQUIRE(use_identity(ssl.get(), **identity));
    return ssl;
  }

  /// A client end that checks the peer as the proxy's upstream leg does.
  static ssl_ptr client_for(SSL_CTX* ctx, std::string_view host) {
    ssl_ptr ssl{SSL_new(ctx)};
    REQUIRE(ssl);
    REQUIRE(prepare_upstream(ssl.get(), host));
    return ssl;
  }
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

TEST_CASE("both contexts build with the documented limits", "[tls][contexts]") {
  auto client_facing = make_client_facing_context();
  REQUIRE(client_facing.has_value());
  CHECK(SSL_CTX_get_min_proto_version(client_facing->get()) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_max_proto_version(client_facing->get()) == TLS1_3_VERSION);
  CHECK((SSL_CTX_get_options(client_facing->get()) & SSL_OP_NO_RENEGOTIATION) != 0);
  CHECK((SSL_CTX_get_options(client_facing->get()) & SSL_OP_NO_TICKET) == 0);

  auto upstream = make_upstream_context({});
  REQUIRE(upstream.has_value());
  CHECK(SSL_CTX_get_verify_mode(upstream->get()) == SSL_VERIFY_PEER);
  CHECK(SSL_CTX_get_session_cache_mode(upstream->get()) == SSL_SESS_CACHE_CLIENT);
  auto insecure = make_upstream_context({.insecure = true});
  REQUIRE(insecure.has_value());
  CHECK(SSL_CTX_get_verify_mode(insecure->get()) == SSL_VERIFY_NONE);
}

TEST_CASE("an unusable --upstream-ca file is an error naming it", "[tls][contexts]") {
  temp_dir tmp;
  fs::path const missing = tmp.path() / "missing.pem";
  auto absent = make_upstream_context({.extra_ca_files = {missing}});
  REQUIRE_FALSE(absent.has_value());
  CHECK_THAT(absent.error().message, Catch::Contains(missing.string()));
  CHECK_THAT(absent.error().message, Catch::Contains("No such file"));

  fs::path const garbage = tmp.path() / "garbage.pem";
  write_text(garbage, "this is not PEM\n");
  auto not_pem = make_upstream_context({.extra_ca_files = {garbage}});
  REQUIRE_FALSE(not_pem.has_value());
  CHECK_THAT(not_pem.error().message, Catch::Contains(garbage.string()));
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("a client trusting the CA completes TLS 1.3 with http/1.1 and a verified chain",
          "[tls][contexts]") {
  contexts_fixture f;
  auto server = f.server_for("registry.test");
  auto client = contexts_fixture::client_for(f.upstream.get(), "registry.test");
  auto const outcome = run_handshake(client.get(), server.get());
  REQUIRE(outcome.client_ok);
  REQUIRE(outcome.server_ok);

  session_summary const upstream_view = describe(client.get(), true);
  CHECK(upstream_view.version == "TLSv1.3");
  CHECK(upstream_view.alpn == "http/1.1");
  CHECK_FALSE(upstream_view.cipher.empty());
  CHECK(upstream_view.verified);
  CHECK(upstream_view.verify_error.empty());
  CHECK_FALSE(upstream_view.resumed);
  REQUIRE(upstream_view.peer_chain.size() == 1);
  CHECK_THAT(upstream_view.peer_chain[0], Catch::StartsWith("CN=registry.test; issuer: CN=regtrace CA "));
  CHECK_THAT(upstream_view.peer_chain[0], Catch::Matches(".*; not after: \\d{4}-\\d{2}-\\d{2}"));

  session_summary const client_view = describe(server.get(), false);
  CHECK(client_view.sni == "registry.test");
  CHECK(client_view.alpn == "http/1.1");
  CHECK(client_view.version == "TLSv1.3");
  CHECK(client_view.peer_chain.empty());
  CHECK_FALSE(client_view.verified);  // clients present no certificate
}

TEST_CASE("the upstream check refuses a certificate for another name, and the server sees the alert",
          "[tls][contexts]") {
  contexts_fixture f;
  auto server = f.server_for("registry.test");
  auto client = contexts_fixture::client_for(f.upstream.get(), "other.test");
  auto const outcome = run_handshake(client.get(), server.get());
  CHECK_FALSE(outcome.client_ok);
  CHECK_FALSE(outcome.server_ok);

  session_summary const summary = describe(client.get(), true);
  CHECK_FALSE(summary.verified);
  CHECK_THAT(summary.verify_error, Catch::Contains("hostname mismatch", Catch::CaseSensitive::No));
  CHECK(is_alert_received(outcome.server_error));
  CHECK_FALSE(alert_from_error(outcome.server_error).empty());
  CHECK_FALSE(is_alert_received(outcome.client_error));
}

TEST_CASE("a client without the CA sends unknown CA, decoded on the proxy's side", "[tls][contexts]") {
  contexts_fixture f;
  auto system_only = make_upstream_context({}).value();
  auto server = f.server_for("registry.test");
  auto client = contexts_fixture::client_for(system_only.get(), "registry.test");
  auto const outcome = run_handshake(client.get(), server.get());
  REQUIRE_FALSE(outcome.server_ok);
  CHECK(describe(client.get(), false).verify_error == "unable to get local issuer certificate");
  CHECK(alert_from_error(outcome.server_error) == "unknown CA (alert 48 received)");

  auto insecure = make_upstream_context({.insecure = true}).value();
  auto server_again = f.server_for("registry.test");
  auto lenient = contexts_fixture::client_for(insecure.get(), "registry.test");
  auto const lenient_outcome = run_handshake(lenient.get(), server_again.get());
  CHECK(lenient_outcome.client_ok);
  session_summary const summary = describe(lenient.get(), true);
  CHECK_FALSE(summary.verified);
  CHECK(summary.verify_error == "unable to get local issuer certificate");
}

TEST_CASE("IP literals are checked against IP SANs and send no SNI", "[tls][contexts]") {
  contexts_fixture f;
  for (char const* host : {"127.0.0.1", "[::1]"}) {
    INFO("host: " << host);
    auto server = f.server_for(host);
    auto client = contexts_fixture::client_for(f.upstream.get(), host);
    auto const outcome = run_handshake(client.get(), server.get());
    REQUIRE(outcome.client_ok);
    CHECK(describe(client.get(), false).verified);
    CHECK(describe(server.get(), false).sni.empty());
  }
  auto server = f.server_for("127.0.0.1");
  auto client = contexts_fixture::client_for(f.upstream.get(), "127.0.0.2");
  CHECK_FALSE(run_handshake(client.get(), server.get()).client_ok);
}

TEST_CASE("ALPN selects http/1.1 when offered and nothing for an h2-only client", "[tls][contexts]") {
  contexts_fixture f;
  SECTION("h2 only") {
    static constexpr unsigned char h2[] = {2, 'h', '2'};
    auto server = f.server_for("registry.test");
    auto client = contexts_fixture::client_for(f.upstream.get(), "registry.test");
    REQUIRE(SSL_set_alpn_protos(client.get(), h2, sizeof h2) == 0);
    REQUIRE(run_handshake(client.get(), server.get()).client_ok);
    CHECK(describe(client.get(), false).alpn.empty());
    CHECK(describe(server.get(), false).alpn.empty());
  }
  SECTION("h2 preferred, http/1.1 offered") {
    static constexpr unsigned char both[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    auto server = f.server_for("registry.test");
    auto client = contexts_fixture::client_for(f.upstream.get(), "registry.test");
    REQUIRE(SSL_set_alpn_protos(client.get(), both, sizeof both) == 0);
    REQUIRE(run_handshake(client.get(), server.get()).client_ok);
    CHECK(describe(client.get(), false).alpn == "http/1.1");
  }
}

TEST_CASE("the client-facing side refuses TLS 1.1 and TLS 1.2 without AEAD", "[tls][contexts]") {
  contexts_fixture f;
  SECTION("TLS 1.1 at most") {
    auto server = f.server_for("registry.test");
    auto client = contexts_fixture::client_for(f.upstream.get(), "registry.test");
    // Security level 0 lets this client really send a TLS 1.1 hello, so the server is what refuses.
    SSL_set_security_level(client.get(), 0);
    REQUIRE(SSL_set_min_proto_version(client.get(), TLS1_VERSION) == 1);
    REQUIRE(SSL_set_max_proto_version(client.get(), TLS1_1_VERSION) == 1);
    auto const outcome = run_handshake(client.get(), server.get());
    CHECK_FALSE(outcome.client_ok);
    REQUIRE_FALSE(outcome.server_ok);
    CHECK(ERR_GET_REASON(outcome.server_error) == SSL_R_UNSUPPORTED_PROTOCOL);
  }
  SECTION("TLS 1.2 with CBC suites only") {
    auto server = f.server_for("registry.test");
    auto client = contexts_fixture::client_for(f.upstream.get(), "registry.test");
    REQUIRE(SSL_set_max_proto_version(client.get(), TLS1_2_VERSION) == 1);
    REQUIRE(SSL_set_cipher_list(client.get(), "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384") == 1);
    auto const outcome = run_handshake(client.get(), server.get());
    REQUIRE_FALSE(outcome.server_ok);
    CHECK(ERR_GET_REASON(outcome.server_error) == SSL_R_NO_SHARED_CIPHER);
  }
}

TEST_CASE("TLS 1.2 uses an ECDHE AEAD suite and resumes with a session ticket", "[tls][contexts]") {
  contexts_fixture f;
  auto server = f.server_for("registry.test");
  auto client = contexts_fixture::client_for(f.upstream.get(), "registry.test");
  REQUIRE(SSL_set_max_proto_version(client.get(), TLS1_2_VERSION) == 1);
  REQUIRE(run_handshake(client.get(), server.get()).client_ok);
  session_summary const first = describe(client.get(), false);
  CHECK(first.version == "TLSv1.2");
  CHECK_THAT(first.cipher, Catch::StartsWith("ECDHE-ECDSA-"));
  CHECK_THAT(first.cipher, Catch::Contains("GCM") || Catch::Contains("CHACHA20"));
  CHECK_FALSE(first.resumed);

  ssl_session_ptr session{SSL_get1_session(client.get())};
  REQUIRE(session);
  auto server_again = f.server_for("registry.test");
  auto client_again = contexts_fixture::client_for(f.upstream.get(), "registry.test");
  REQUIRE(SSL_set_max_proto_version(client_again.get(), TLS1_2_VERSION) == 1);
  REQUIRE(SSL_set_session(client_again.get(), session.get()) == 1);
  REQUIRE(run_handshake(client_again.get(), server_again.get()).client_ok);
  CHECK(describe(client_again.get(), false).resumed);
  CHECK(describe(server_again.get(), false).resumed);
}

TEST_CASE("use_identity refuses a key that does not match the certificate", "[tls][contexts]") {
  contexts_fixture f;
  auto identity = f.cache->identity_for("registry.test").value();
  X509_up_ref(identity->certificate.get());
  server_identity const mismatched{x509_ptr{identity->certificate.get()}, evp_pkey_ptr{EVP_EC_gen("P-256")}};
  ssl_ptr ssl{SSL_new(f.client_facing.get())};
  CHECK_FALSE(use_identity(ssl.get(), mismatched));
  ERR_clear_error();
}

TEST_CASE("alerts are decoded from OpenSSL error codes", "[tls][contexts]") {
  unsigned long const unknown_ca = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_TLSV1_ALERT_UNKNOWN_CA);
  CHECK(SSL_R_TLSV1_ALERT_UNKNOWN_CA == 1048);
  CHECK(is_alert_received(unknown_ca));
  CHECK_THAT(lower(alert_from_error(unknown_ca)), Catch::Contains("unknown ca"));
  CHECK_THAT(alert_from_error(unknown_ca), Catch::Contains("alert 48 received"));

  unsigned long const bad_certificate = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE);
  CHECK(alert_from_error(bad_certificate) == "bad certificate (alert 42 received)");

  unsigned long const verify_failed = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_CERTIFICATE_VERIFY_FAILED);
  CHECK_FALSE(is_alert_received(verify_failed));
  CHECK(alert_from_error(verify_failed).empty());
  CHECK(alert_from_error(ERR_PACK(ERR_LIB_X509, 0, 1048)).empty());
  CHECK(alert_from_error(0).empty());
}
