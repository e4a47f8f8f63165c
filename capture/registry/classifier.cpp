#include "capture/registry/classifier.hpp"

#include "capture/model/name_table.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/percent.hpp"
#include "capture/text/url.hpp"

#include <array>

namespace regtrace::capture::registry {
namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// Every piece between separators, empty ones included ("a//b/" has four).
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  for (;;) {
    auto at = text.find(separator);
    pieces.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return pieces;
    text.remove_prefix(at + 1);
  }
}

std::string join(std::vector<std::string_view> const& segments, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i != 0) out += '/';
    out += segments[i];
  }
  return out;
}

bool has_key(std::vector<query_param> const& params, std::string_view key) {
  for (auto const& p : params)
    if (p.key == key) return true;
  return false;
}

std::string first_value(std::vector<query_param> const& params, std::string_view key) {
  for (auto const& p : params)
    if (p.key == key) return percent_decode(p.value);
  return {};
}

// Catalog §7.1 host hints: secondary evidence, since storage hosts change more often than query shapes.
bool is_storage_host(std::string_view raw_host) {
  std::string host = to_lower(raw_host);
  if (!host.empty() && host.front() == '[') return false;  // an IPv6 literal is no storage service
  if (auto colon = host.find(':'); colon != std::string::npos) host.resize(colon);
  std::string_view h = host;
  if (h.ends_with(".blob.core.windows.net") || h.ends_with(".data.azurecr.io") ||
      h.ends_with(".cloudfront.net") || h.find("starport-layer-bucket") != std::string_view::npos ||
      h == "storage.googleapis.com" || h.ends_with(".storage.googleapis.com") ||
      h == "production.cloudflare.docker.com" || h == "production.cloudfront.docker.com")
    return true;
  // *.s3*.amazonaws.com: virtual-hosted and path-style S3 endpoints, any region spelling.
  if (!h.ends_with(".amazonaws.com")) return false;
  for (auto const label : split(h.substr(0, h.size() - 14), '.'))
    if (label.starts_with("s3")) return true;
  return false;
}

// "repository:library/alpine:pull,push" (catalog §4.2); NAME runs to the last colon, so a host:port
// inside a plugin-style resource type would not be mistaken for it.
std::string repository_from_scope(std::vector<query_param> const& params) {
  for (auto const& p : params) {
    if (p.key != "scope") continue;
    std::string scopes = percent_decode(p.value, true);
    std::string_view rest = scopes;
    while (!rest.empty()) {
      auto space = rest.find(' ');
      std::string_view scope = rest.substr(0, space);
      rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
      if (!scope.starts_with("repository")) continue;
      auto first = scope.find(':');
      if (first == std::string_view::npos) continue;
      auto last = scope.rfind(':');
      auto name = last == first ? scope.substr(first + 1) : scope.substr(first + 1, last - first - 1);
      if (!name.empty()) return std::string(name);
    }
  }
  return {};
}

bool is_token_request(std::string_view method, std::string_view path,
                      std::vector<query_param> const& params) {
  // Realms seen in the wild: auth.docker.io/token, ghcr.io/token, /service/token (Harbor),
  // /oauth2/token and /oauth2/exchange (ACR, catalog E-03), /v2/token (GAR), /v2/auth (Quay).
  if (path.ends_with("/token") || path.ends_with("/oauth2/exchange")) return true;
  if (has_key(params, "scope") || has_key(params, "service") || has_key(params, "grant_type")) return true;
  return method == "POST" && path.ends_with("token");
}

// Matches the endpoint shapes of catalog §0 from the end of the path, so NAME may contain slashes
// and even a component called "blobs" or "manifests".
bool classify_registry_path(std::string_view rest, std::vector<query_param> const& params,
                            classification& out) {
  auto const segs = split(rest, '/');
  auto const n = segs.size();
  auto set = [&](request_kind kind, std::size_t name_segments) {
    out.kind = kind;
    out.repository = join(segs, name_segments);
  };
  if (n >= 4 && segs[n - 3] == "blobs" && segs[n - 2] == "uploads") {
    set(request_kind::upload, n - 3);
    out.upload_id = percent_decode(segs[n - 1]);
  } else if (n >= 3 && segs[n - 2] == "blobs" && segs[n - 1] == "uploads") {
    set(request_kind::upload, n - 2);  // POST without the trailing slash
  } else if (n >= 3 && segs[n - 2] == "tags" && segs[n - 1] == "list") {
    set(request_kind::tags, n - 2);
  } else if (n >= 3 && segs[n - 2] == "manifests" && !segs[n - 1].empty()) {
    set(request_kind::manifest, n - 2);
    out.reference = percent_decode(segs[n - 1]);
    // Tags cannot contain ':' (OCI tag grammar), digests always do ("sha256:...").
    if (out.reference.find(':') != std::string::npos) out.digest = out.reference;
  } else if (n >= 3 && segs[n - 2] == "referrers" && !segs[n - 1].empty()) {
    set(request_kind::referrers, n - 2);
    out.digest = percent_decode(segs[n - 1]);
  } else if (n >= 3 && segs[n - 2] == "blobs" && !segs[n - 1].empty()) {
    set(request_kind::blob, n - 2);
    out.digest = percent_decode(segs[n - 1]);
  } else {
    return false;
  }
  if (out.repository.empty()) return false;  // "/v2//manifests/x": no NAME, no endpoint
  if (out.kind == request_kind::upload) {
    // PUT <location>?digest= closes the upload (end-6); POST ?mount=&from= names the blob (end-11).
    out.digest = first_value(params, "digest");
    if (out.digest.empty()) out.digest = first_value(params, "mount");
  }
  return true;
}

}  // namespace

std::string_view to_string(request_kind k) {
  static constexpr name_table<request_kind, 10> names{{
      {request_kind::ping, "ping"},
      {request_kind::token, "token"},
      {request_kind::manifest, "manifest"},
      {request_kind::blob, "blob"},
      {request_kind::upload, "upload"},
      {request_kind::tags, "tags"},
      {request_kind::referrers, "referrers"},
      {request_kind::catalog, "catalog"},
      {request_kind::storage, "storage"},
      {request_kind::other, "other"},
  }};
  return name_of(names, k, "other");
}

bool is_presigned_storage_query(std::string_view query) {
  auto const params = split_query(query);
  // Keys are case-sensitive as the signers emit them; some SDKs lowercase the SigV4 ones.
  auto has = [&](std::string_view key) { return has_key(params, key) || has_key(params, to_lower(key)); };
  bool const s3_v4 = has("X-Amz-Signature") && (has("X-Amz-Algorithm") || has("X-Amz-Credential"));
  bool const s3_v2 = has_key(params, "AWSAccessKeyId") && has_key(params, "Signature");
  bool const azure_sas = has_key(params, "sig") && (has_key(params, "sv") || has_key(params, "se"));
  bool const gcs =
      has("X-Goog-Signature") || (has_key(params, "GoogleAccessId") && has_key(params, "Signature"));
  bool const cloudfront = has_key(params, "Signature") && has_key(params, "Key-Pair-Id");
  return s3_v4 || s3_v2 || azure_sas || gcs || cloudfront;
}

bool is_valid_repository_name(std::string_view name) {
  // Catalog §0: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* components joined by '/'; distribution caps the
  // whole name at 255 characters.
  if (name.empty() || name.size() > 255) return false;
  for (auto const component : split(name, '/')) {
    std::size_t i = 0;
    for (;;) {
      std::size_t const run = i;
      while (i < component.size() && is_lower_alnum(component[i])) ++i;
      if (i == run) return false;  // empty component, leading or doubled separator
      if (i == component.size()) break;
      if (component[i] == '.') {
        ++i;
      } else if (component[i] == '_') {
        i += (i + 1 < component.size() && component[i + 1] == '_') ? 2 : 1;
      } else if (component[i] == '-') {
        while (i < component.size() && component[i] == '-') ++i;
      } else {
        return false;
      }
    }
  }
  return true;
}

namespace {

// Off the registry API paths a request is pre-signed storage (catalog §7.1: query evidence first,
// host hints second), a token request, or other.
void classify_off_api(std::string_view method, std::string_view host, std::string_view path,
                      std::string_view query, std::vector<query_param> const& params, classification& out) {
  if (is_presigned_storage_query(query) || is_storage_host(host)) {
    out.kind = request_kind::storage;
  } else if (is_token_request(method, path, params)) {
    out.kind = request_kind::token;
    out.repository = repository_from_scope(params);
  }
}

}  // namespace

classification classify(std::string_view method, std::string_view host, std::string_view target) {
  // Absolute-form targets (a plain-HTTP proxy request, a Location value) carry their own authority.
  for (std::string_view scheme : {"https://", "http://"}) {
    if (!target.starts_with(scheme)) continue;
    target.remove_prefix(scheme.size());
    auto path_start = target.find_first_of("/?#");
    host = target.substr(0, path_start);
    if (auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
    target = path_start == std::string_view::npos ? std::string_view{} : target.substr(path_start);
  }
  target = target.substr(0, target.find('#'));
  auto const question = target.find('?');
  std::string_view const path = target.substr(0, question);
  std::string_view const query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  auto const params = split_query(query);

  classification out;
  // The API root may sit behind a path prefix (/artifactory/api/docker/repo/v2/...): the first "/v2/"
  // at a segment boundary starts it.
  auto v2 = path.find("/v2/");
  if (v2 == std::string_view::npos && path.ends_with("/v2")) v2 = path.size() - 3;
  if (v2 == std::string_view::npos) {
    // Only off the registry API paths: a registry may itself sit on a storage-like host.
    classify_off_api(method, host, path, query, params, out);
    return out;
  }
  std::string_view const rest = v2 + 4 <= path.size() ? path.substr(v2 + 4) : std::string_view{};
  if (rest.empty()) {
    out.kind = request_kind::ping;
  } else if (rest == "_catalog") {
    out.kind = request_kind::catalog;
  } else if (!classify_registry_path(rest, params, out)) {
    // Storage layouts reuse "/v2/" (distribution's own ".../docker/registry/v2/blobs/sha256/ab/<hex>/data"
    // behind a pre-signed or CDN URL); they only count once no registry endpoint shape matched.
    out = {};
    classify_off_api(method, host, path, query, params, out);
  }
  return out;
}

}  // namespace regtrace::capture::registry
