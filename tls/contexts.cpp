#include "tls/contexts.hpp"

#include "tls/host_name.hpp"
#include "tls/x509_util.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace regtrace::tls {

namespace {

// ALPN wire form (RFC 7301 §3.1): one length-prefixed protocol name.
constexpr unsigned char alpn_http_1_1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// TLS 1.2 suites: forward secrecy and AEAD only. Leaves are always ECDSA P-256 (SPEC §3), so RSA
// authentication suites could never be chosen. TLS 1.3 suites are all AEAD already.
constexpr char const* client_facing_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";

// TLS 1.3 suites, AES-128-GCM first as Go's crypto/tls (dockerd, containerd, the distribution
// registry) orders them on AES hardware. OpenSSL's default puts AES-256-GCM first, which costs about
// 8% more per byte on a multi-GB layer for no gain a registry client asks for.
constexpr char const* tls13_suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

constexpr unsigned char session_id_context[] = {'r', 'e', 'g', 't', 'r', 'a', 'c', 'e'};

/// Picks "http/1.1" from the client's list or declines ALPN: we relay HTTP/1.1 only, and a client
/// told nothing falls back to it (RFC 7301 §3.2), while a wrong answer would break the connection.
int select_alpn(SSL*, unsigned char const** out, unsigned char* out_length, unsigned char const* in,
                unsigned int in_length, void*) {
  unsigned int at = 0;
  while (at < in_length) {
    unsigned int const length = in[at];
    if (at + 1 + length > in_length) break;
    if (length == sizeof alpn_http_1_1 - 1 &&
        std::memcmp(in + at, alpn_http_1_1, sizeof alpn_http_1_1) == 0) {
      *out = in + at + 1;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    at += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

/// OpenSSL keeps a record-sized read and write buffer (about 17 KiB each) per connection for its whole
/// life; released, they exist only while a record is in them, so a kept-alive connection waiting for its
/// next request holds none (issue 13: 500 idle connections).
void release_idle_buffers(SSL_CTX* ctx) {
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

error context_error(char const* what) {
  return error{std::string{what} + ": " + drain_openssl_errors()};
}

/// Adds one --upstream-ca file, or says precisely why it cannot be used.
result<void> add_trusted_file(SSL_CTX* ctx, std::filesystem::path const& file) {
  // fopen first: it tells "no such file" from "permission denied", which OpenSSL's queue blurs.
  if (std::FILE* probe = std::fopen(file.c_str(), "r")) {
    std::fclose(probe);
  } else {
    return error{"cannot read the upstream CA file " + file.string() + ": " + std::strerror(errno) +
                 "; pass a readable PEM file with one or more CA certificates"};
  }
  if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1) {
    return error{"the upstream CA file " + file.string() + " holds no PEM certificate (" +
                 drain_openssl_errors() + "); pass a PEM file with one or more CA certificates"};
  }
  return {};
}

}  // namespace

result<ssl_ctx_ptr> make_client_facing_context() {
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_server_method())};
  if (!ctx) return context_error("cannot create the client-facing TLS context");
  SSL_CTX* const c = ctx.get();
  // Renegotiation only helps attacks on a proxy; the server's choice of suite keeps AEAD first.
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  bool const ok = SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) == 1 &&
                  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_set_cipher_list(c, client_facing_tls12_ciphers) == 1 &&
                  SSL_CTX_set_ciphersuites(c, tls13_suites) == 1 &&
                  SSL_CTX_set_session_id_context(c, session_id_context, sizeof session_id_context) == 1;
  if (!ok) return context_error("cannot configure the client-facing TLS context");
  // dockerd opens a connection per request (SPEC §7): resumption saves a full handshake each time.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  SSL_CTX_clear_options(c, SSL_OP_NO_TICKET);
  SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);
  release_idle_buffers(c);
  return ctx;
}

result<ssl_ctx_ptr> make_upstream_context(upstream_trust const& trust) {
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx) return context_error("cannot create the upstream TLS context");
  SSL_CTX* const c = ctx.get();
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
  // Registries require TLS 1.2 (catalog A-05); say so here rather than rely on the system openssl.cnf.
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) {
    return context_error("cannot set the minimum TLS version on the upstream TLS context");
  }
  // The registry chooses; OpenSSL-based servers that follow the client's order get Go's order.
  if (SSL_CTX_set_ciphersuites(c, tls13_suites) != 1) {
    return context_error("cannot set the TLS 1.3 suites on the upstream TLS context");
  }
  if (SSL_CTX_set_default_verify_paths(c) != 1) {
    return context_error("cannot load the system CA certificates");
  }
  for (auto const& file : trust.extra_ca_files) {
    if (auto added = add_trusted_file(c, file); !added) return added.error();
  }
  // Without a verify callback, SSL_VERIFY_PEER makes a failed verification fail the handshake;
  // with SSL_VERIFY_NONE the result is still computed, so describe() can say what would have failed.
  SSL_CTX_set_verify(c, trust.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  // SSL_CTX_set_alpn_protos returns 0 on success, unlike its neighbours.
  if (SSL_CTX_set_alpn_protos(c, alpn_http_1_1, sizeof alpn_http_1_1) != 0) {
    return context_error("cannot set ALPN on the upstream TLS context");
  }
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT);
  release_idle_buffers(c);
  return ctx;
}

bool use_identity(SSL* ssl, server_identity const& identity) {
  // One call sets both and checks once that the key matches the certificate.
  return SSL_use_cert_and_key(ssl, identity.certificate.get(), identity.key.get(), nullptr, 1) == 1;
}

bool prepare_upstream(SSL* ssl, std::string_view host) {
  auto parsed = parse_host(host);
  if (!parsed) return false;
  if (parsed->ip) {
    // RFC 6066 §3: SNI carries DNS names only, so an IP literal is checked against IP SANs alone.
    return X509_VERIFY_PARAM_set1_ip(SSL_get0_param(ssl), ASN1_STRING_get0_data(parsed->ip.get()),
                                     static_cast<std::size_t>(ASN1_STRING_length(parsed->ip.get()))) == 1;
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set_tlsext_host_name(ssl, parsed->text.c_str()) == 1 &&
         SSL_set1_host(ssl, parsed->text.c_str()) == 1;
}

session_summary describe(SSL const* ssl, bool include_peer_chain) {
  session_summary summary;
  summary.version = SSL_get_version(ssl);
  if (SSL_CIPHER const* cipher = SSL_get_current_cipher(ssl)) summary.cipher = SSL_CIPHER_get_name(cipher);
  unsigned char const* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  if (alpn != nullptr) summary.alpn.assign(reinterpret_cast<char const*>(alpn), alpn_length);
  if (char const* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) summary.sni = sni;
  summary.resumed = SSL_session_reused(ssl) == 1;
  long const verify_result = SSL_get_verify_result(ssl);
  summary.verified = verify_result == X509_V_OK && SSL_get0_peer_certificate(ssl) != nullptr;
  if (verify_result != X509_V_OK) summary.verify_error = X509_verify_cert_error_string(verify_result);
  if (include_peer_chain) {
    if (STACK_OF(X509) const* chain = SSL_get_peer_cert_chain(ssl)) {
      for (int i = 0; i < sk_X509_num(chain); ++i) {
        X509 const* cert = sk_X509_value(chain, i);
        summary.peer_chain.push_back(name_text(X509_get_subject_name(cert)) +
                                     "; issuer: " + name_text(X509_get_issuer_name(cert)) +
                                     "; not after: " + time_text(X509_get0_notAfter(cert), "%Y-%m-%d"));
      }
    }
  }
  return summary;
}

bool is_alert_received(unsigned long openssl_error) {
  // A received alert is reported as reason SSL_AD_REASON_OFFSET + alert number (ssl/ssl_local.h).
  int const reason = ERR_GET_REASON(openssl_error);
  return ERR_GET_LIB(openssl_error) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
         reason <= SSL_AD_REASON_OFFSET + 255;
}

bool is_protocol_version_error(unsigned long openssl_error) {
  if (ERR_GET_LIB(openssl_error) != ERR_LIB_SSL) return false;
  switch (ERR_GET_REASON(openssl_error)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
      return true;
    default:
      return false;
  }
}

std::string alert_from_error(unsigned long openssl_error) {
  if (!is_alert_received(openssl_error)) return {};
  int const alert = ERR_GET_REASON(openssl_error) - SSL_AD_REASON_OFFSET;
  return std::string{SSL_alert_desc_string_long(alert)} + " (alert " + std::to_string(alert) + " received)";
}

}  // namespace regtrace::tls
