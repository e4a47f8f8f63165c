#pragma once
// Registry classification of a request URL (SPEC §4, catalog §0 endpoint table, §7.1 storage URLs).

#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::registry {

enum class request_kind { ping, token, manifest, blob, upload, tags, referrers, catalog, storage, other };
std::string_view to_string(request_kind k);

/// What a URL is in registry terms. Empty strings where not applicable.
struct classification {
  request_kind kind = request_kind::other;
  std::string repository;  ///< NAME, e.g. "library/alpine"
  std::string reference;   ///< tag or digest from /manifests/REF
  std::string digest;      ///< sha256:... for blobs, manifests by digest, referrers, ?digest= on upload PUT
  std::string upload_id;   ///< the UUID in /blobs/uploads/UUID
  bool operator==(classification const&) const = default;
};

/// Classifies a request. target is the origin-form target (path and query).
/// Token requests are recognised by shape (GET/POST with scope=/service=/grant_type= or a path ending
/// in /token, /oauth2/token, /service/token); storage URLs by signed-query evidence (catalog §7.1)
/// before host hints.
classification classify(std::string_view method, std::string_view host, std::string_view target);

/// True when the query carries pre-signed object-store evidence (S3 v2/v4, Azure SAS, GCS, CloudFront).
bool is_presigned_storage_query(std::string_view query);

/// True when NAME matches the OCI repository name grammar (catalog §0).
bool is_valid_repository_name(std::string_view name);

/// One part of a query string, as views into it (not decoded). has_value: the part had an '='.
struct query_param {
  std::string_view key;
  std::string_view value;
  bool has_value = false;
};

/// Splits a query ("a=1&b&c=") on '&' into its non-empty parts, in order. Shared with redaction so
/// both read a query the same way.
std::vector<query_param> split_query(std::string_view query);

/// Decodes %XX escapes (and '+' as a space when plus_is_space, for form bodies); malformed escapes are
/// kept as they are.
std::string percent_decode(std::string_view text, bool plus_is_space = false);

}  // namespace regtrace::capture::registry
