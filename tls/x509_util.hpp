#pragma once
// Certificate building and printing shared by authority, cert_cache and contexts. Internal to tls/.

#include "tls/openssl_ptr.hpp"

#include <string>

namespace regtrace::tls {

/// A fresh ECDSA P-256 key (SPEC §3: CA and leaves are P-256).
result<evp_pkey_ptr> generate_p256_key();

/// Sets a random positive 128-bit serial (RFC 5280 §4.1.2.2 allows up to 20 octets).
bool set_random_serial(X509* cert);

/// Adds one extension written in openssl.cnf syntax ("critical,CA:TRUE"); ctx names subject and issuer.
/// Only for fixed strings: values from the network go through typed APIs so they cannot inject syntax.
bool add_extension(X509* cert, X509V3_CTX* ctx, int nid, char const* value);

/// "CN=registry.example,O=Example" (RFC 2253 order and escaping).
std::string name_text(X509_NAME const* name);

/// The time formatted by strftime (UTC), e.g. "%Y-%m-%d"; "" when the time cannot be read.
std::string time_text(ASN1_TIME const* time, char const* format);

/// "AB:CD:..." SHA-256 over the DER, the form `openssl x509 -fingerprint -sha256` prints.
std::string sha256_fingerprint(X509 const* cert);

}  // namespace regtrace::tls
