#pragma once
// regtrace's certificate authority: loaded from, or created in, the CA directory (SPEC §2, §8).
// Files: ca.crt (PEM, 0644) and ca.key (PEM, 0600, never logged).

#include "tls/openssl_ptr.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace regtrace::tls {

/// An immutable CA. Thread-safe to share once built.
class authority {
 public:
  /// Loads ca.crt/ca.key from dir; creates dir (0700) and a new ECDSA P-256 CA (10 years,
  /// CN "regtrace CA <hostname> <date>") when they do not exist. created is set when it made one.
  static result<std::shared_ptr<authority const>> load_or_create(std::filesystem::path const& dir,
                                                                 bool* created = nullptr);
  /// Loads an existing CA; an error sentence naming the files when missing or unreadable.
  static result<std::shared_ptr<authority const>> load(std::filesystem::path const& dir);

  X509* certificate() const { return cert_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  std::filesystem::path const& certificate_path() const { return cert_path_; }
  std::string certificate_pem() const;
  std::vector<std::uint8_t> certificate_der() const;
  std::string subject() const;             ///< "CN=regtrace CA ..."
  std::string not_after() const;           ///< "2036-11-27 21:56:00 UTC"
  std::string sha256_fingerprint() const;  ///< "AB:CD:..." like openssl x509 -fingerprint

  authority(x509_ptr cert, evp_pkey_ptr key, std::filesystem::path cert_path);

 private:
  x509_ptr cert_;
  evp_pkey_ptr key_;
  std::filesystem::path cert_path_;
};

}  // namespace regtrace::tls
