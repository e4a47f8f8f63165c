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

}  // namespace regtrace::capture::registry
