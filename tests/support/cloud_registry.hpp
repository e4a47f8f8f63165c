#pragma once
// A cloud registry played in-process for the diagnostics tests: the parts the distribution registry
// cannot play (TESTBED.md). One HTTPS listener on 127.0.0.1:0 answers for several virtual hosts by
// Host header — the registry, its token realm and its blob storage — so the proxy maps them all to the
// same port with --resolve rules, and the test leaf carries every name.
//
//   registry.test  /v2/ API; Bearer challenges with realm/service/scope (catalog §4.1) and token
//                  checking when use_bearer_auth(); manifests and blobs; blob GETs answered 307 to a
//                  pre-signed storage URL in Azure SAS shape (sv, se, sr, sp, sig).
//   auth.test      /token: GET with Basic credentials (§4.3) or POST form (§4.4), JWT-shaped tokens
//                  whose payload has access[] per granted scope, aud, iat, nbf, exp.
//   storage.test   answers like Azure Blob: 400 InvalidAuthenticationInfo when the request carries
//                  Authorization, 403 AuthenticationFailed on a bad signature or an expired `se`.
//
// Scripted routes (on()) take precedence over all of that and answer exactly what the test says.

#include "tests/support/test_support.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace regtrace::test {

using header_pairs = std::vector<std::pair<std::string, std::string>>;

/// One answer of the scripted upstream.
struct reply {
  int status = 200;
  header_pairs headers;  ///< sent in order; Date and Content-Length are added
  std::string body;
  std::chrono::milliseconds delay{0};  ///< waited before the response headers (a slow upstream)
  /// The body stops after this many bytes, though Content-Length promises all of it (catalog A-14):
  /// the connection is then closed without close_notify, or with `stall` left open and silent until
  /// the peer closes it, or with `reset` reset (TCP RST, as a crashed server or a middlebox).
  std::optional<std::size_t> body_stops_after{};
  bool stall = false;
  bool reset = false;
};

/// A request as the upstream received it.
struct received_request {
  std::string host;  ///< virtual host, lower case, without port
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;
};

/// {"errors":[{"code":code,"message":message}]} with the registry's API version header.
reply registry_error(int status, std::string const& code, std::string const& message,
                     header_pairs extra = {});
/// ACR's lock/quarantine answer: 405 REGISTRY_DISALLOWED_OPERATION (catalog §1.3, C-12, E-05).
reply acr_disallowed();
/// ACR's firewall answer: 403 DENIED "client with IP '<ip>' is not allowed access..." (B-12).
reply acr_firewall_denied(std::string const& ip);
/// An nginx ingress refusing a large body: 413 with nginx's HTML page.
reply nginx_413();
/// A web application firewall's block page: 403 text/html, no registry headers.
reply waf_403_page();
/// 429 TOOMANYREQUESTS with Retry-After (C-13).
reply too_many_requests(int retry_after_seconds);
/// An Azure Blob error: status, x-ms-error-code and the XML body (catalog D-01..D-03).
reply azure_error(int status, std::string const& code, std::string const& message,
                  std::string const& authentication_detail = {});

/// The sha256 digest ("sha256:<hex>") of content.
std::string digest_of(std::string const& content);
/// "Sat, 28 Nov 2026 00:33:47 GMT" (RFC 9110 §5.6.7).
std::string http_date(std::chrono::system_clock::time_point t);
/// "2026-11-28T00:33:47Z": the format of Azure's `se` and of token `issued_at`.
std::string iso8601(std::chrono::system_clock::time_point t);

class cloud_registry {
 public:
  static constexpr char const* registry_host = "registry.test";
  static constexpr char const* auth_host = "auth.test";
  static constexpr char const* storage_host = "storage.test";
  static constexpr char const* foreign_host = "foreign.test";  ///< never served: foreign layers point here
  /// Cloud providers' own names, for rules that read the host (catalog E-04, E-06): answered by
  /// scripted routes only.
  static constexpr char const* acr_host = "myreg.azurecr.io";
  static constexpr char const* gcr_host = "gcr.io";
  /// Every name the test leaf must carry.
  static std::vector<std::string> host_names();

  /// modern: TLS 1.2/1.3; legacy_only: TLS 1.0/1.1 and nothing newer.
  enum class tls_versions { modern, legacy_only };
  explicit cloud_registry(test_pki const& pki, tls_versions versions = tls_versions::modern);
  ~cloud_registry();
  cloud_registry(cloud_registry const&) = delete;
  cloud_registry& operator=(cloud_registry const&) = delete;

  std::uint16_t port() const;
  /// "registry.test:PORT" style authority for host.
  std::string authority(std::string const& host) const;
  /// "https://host:PORT" + path_and_query.
  std::string url(std::string const& host, std::string const& path_and_query) const;

  /// Answers (host, method, target) with the replies in order; the last one repeats. A target ending
  /// in '*' matches every target with that prefix.
  void on(std::string const& host, std::string const& method, std::string const& target,
          std::vector<reply> answers);

  /// Registry requests need a Bearer token from auth.test (distribution's token auth, §4).
  void use_bearer_auth();
  /// Credentials the token service accepts, and the scopes it grants them ("repository:app:pull,push").
  void add_user(std::string const& user, std::string const& password, std::vector<std::string> scopes);
  /// Scopes granted to anonymous token requests (public repositories).
  void allow_anonymous(std::vector<std::string> scopes);
  /// Shifts the token service's clock: tokens carry iat/nbf/exp this far off the registry's (B-10).
  void set_token_clock_skew(std::chrono::seconds skew);
  /// The Bearer challenge the registry sends for scope (empty: none), optionally with error=.
  std::string challenge(std::string const& scope, std::string const& error = {}) const;

  /// Stores a manifest under name:reference and under its digest; returns the digest.
  std::string add_manifest(std::string const& name, std::string const& reference,
                           std::string const& media_type, std::string const& body);
  /// Stores a blob under its digest (the storage host serves it); returns the digest.
  std::string add_blob(std::string const& content);
  /// The pre-signed storage URL for a blob, expiring at `expiry`; a bad signature when !valid_signature.
  std::string presigned_url(std::string const& digest, std::chrono::system_clock::time_point expiry,
                            bool valid_signature = true) const;
  /// How long the registry's 307 Locations stay valid (default 10 minutes; negative: already expired).
  void set_presign_lifetime(std::chrono::seconds lifetime);
  /// Signs Locations with a key the storage does not accept (a rotated storage key, D-03).
  void sign_with_wrong_key();

  /// Every request received, in order.
  std::vector<received_request> requests() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace regtrace::test
