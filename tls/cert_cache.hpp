#pragma once
// Per-host leaf certificates minted from the CA on first use and shared (STYLE rule 10).

#include "tls/authority.hpp"

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace regtrace::tls {

/// A leaf certificate and its key, presented to clients for one host. Immutable once built.
struct server_identity {
  x509_ptr certificate;
  evp_pkey_ptr key;  ///< shared by all leaves of one cache (up-referenced)
};

/// Mints a leaf for host: ECDSA P-256 key given, SAN DNS:host (or IP:host for an IP literal,
/// brackets allowed for IPv6), CN host, serverAuth EKU, valid from one hour ago for one year
/// (never past the CA's notAfter), random 128-bit serial, signed by the CA with SHA-256.
result<x509_ptr> mint_leaf(authority const& ca, EVP_PKEY* leaf_key, std::string_view host);

/// Thread-safe cache from lower-cased host to identity. The mutex is never held while minting
/// completes a handshake; minting itself is a few hundred microseconds.
class cert_cache {
 public:
  /// Generates the one ECDSA P-256 key shared by every leaf of this cache.
  static result<std::shared_ptr<cert_cache>> create(std::shared_ptr<authority const> ca);

  /// The identity for host, minted on first use.
  result<std::shared_ptr<server_identity const>> identity_for(std::string_view host);
  std::size_t size() const;

  cert_cache(std::shared_ptr<authority const> ca, evp_pkey_ptr leaf_key);

 private:
  std::shared_ptr<authority const> ca_;
  evp_pkey_ptr leaf_key_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<server_identity const>> identities_;
};

}  // namespace regtrace::tls
