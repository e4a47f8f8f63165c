// The built-in services of the scripted cloud registry: token realm, Azure-like storage, registry API.
#include "tests/support/cloud_registry_detail.hpp"

#include "capture/text/ascii.hpp"
#include "capture/text/base64.hpp"
#include "capture/text/percent.hpp"
#include "capture/text/url.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace regtrace::test::cloud {

using capture::percent_decode;
using capture::split_query;

namespace {

std::string path_of(std::string_view target) {
  return std::string(target.substr(0, target.find('?')));
}

std::string_view query_of(std::string_view target) {
  auto at = target.find('?');
  return at == std::string_view::npos ? std::string_view{} : target.substr(at + 1);
}

std::string header(received_request const& r, std::string const& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string{} : it->second;
}

// "repository:app:pull,push" → {"repository:app", {"pull","push"}}; the name may hold a ':port' (§4.2).
std::pair<std::string, std::set<std::string>> split_scope(std::string const& scope) {
  auto last = scope.rfind(':');
  if (last == std::string::npos) return {scope, {}};
  std::set<std::string> actions;
  std::string list = scope.substr(last + 1);
  for (std::size_t start = 0; start <= list.size();) {
    auto comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) actions.insert(list.substr(start, comma - start));
    start = comma + 1;
  }
  return {scope.substr(0, last), actions};
}

reply json_reply(int status, nlohmann::json const& body, header_pairs headers = {}) {
  headers.insert(headers.begin(), {"Content-Type", "application/json"});
  return {status, std::move(headers), body.dump(), {}};
}

reply unauthorized(cloud_registry const& self, std::string const& scope, std::string const& error) {
  return registry_error(401, "UNAUTHORIZED", "authentication required",
                        {{"Www-Authenticate", self.challenge(scope, error)}});
}

// distribution's token access controller: a challenge without a token, invalid_token for a token it
// cannot accept (signature, audience, time), insufficient_scope when an action is missing (§4.1).
std::optional<reply> check_token(cloud_registry const& self, cloud_registry::state& s,
                                 received_request const& r, std::string const& name,
                                 std::set<std::string> const& actions) {
  std::string scope;
  if (!name.empty()) {
    scope = "repository:" + name + ":";
    bool first = true;
    for (auto const& a : actions) scope += (first ? "" : ",") + a, first = false;
  }
  auto authorization = header(r, "authorization");
  if (!capture::iequals(authorization.substr(0, 7), "Bearer ")) return unauthorized(self, scope, "");
  std::lock_guard lock(s.mutex);
  auto it = s.tokens.find(authorization.substr(7));
  auto const now = clock_type::now();
  if (it == s.tokens.end() || it->second.audience != cloud_registry::registry_host ||
      now < it->second.not_before || now >= it->second.expires)
    return unauthorized(self, scope, "invalid_token");
  for (auto const& action : actions)
    if (!it->second.actions[name].count(action)) return unauthorized(self, scope, "insufficient_scope");
  return std::nullopt;
}

}  // namespace

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

// Azure signs the permissions, expiry and resource path with the account key; an HMAC is not needed
// for a test, only a value that changes with each of them.
std::string sas_signature(std::string_view key, std::string_view path, std::string_view expiry,
                          std::string_view permissions) {
  sha256_stream hash;
  hash.update(std::string(key) + "\n" + std::string(permissions) + "\n" + std::string(expiry) + "\n" +
              std::string(path));
  std::string hex = hash.hex(), raw;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return capture::base64_encode(raw);
}

std::string blob_path(std::string const& digest) {
  std::string hex = digest.substr(digest.find(':') + 1);
  return "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}

// ---- token service (auth.test) -------------------------------------------------------------------

reply token_service(cloud_registry::state& s, received_request const& r) {
  std::string service, account, password;
  std::vector<std::string> scopes;
  bool has_credentials = false;
  bool const post = r.method == "POST";
  std::string_view const fields = post ? std::string_view(r.body) : query_of(r.target);
  for (auto const& p : split_query(fields)) {
    std::string value = percent_decode(p.value, post);
    if (p.key == "service") service = value;
    if (p.key == "account" || p.key == "username") account = value;
    if (p.key == "password") password = value, has_credentials = true;
    if (p.key == "scope") {
      for (std::size_t start = 0; start <= value.size();) {  // POST: one space-separated field (§4.4)
        auto space = value.find(' ', start);
        if (space == std::string::npos) space = value.size();
        if (space > start) scopes.push_back(value.substr(start, space - start));
        start = space + 1;
      }
    }
  }
  if (auto basic = header(r, "authorization"); capture::iequals(basic.substr(0, 6), "Basic ")) {
    auto decoded = capture::base64_decode(basic.substr(6)).value_or("");
    account = decoded.substr(0, decoded.find(':'));
    password = decoded.find(':') == std::string::npos ? "" : decoded.substr(decoded.find(':') + 1);
    has_credentials = true;
  }

  std::lock_guard lock(s.mutex);
  std::vector<std::string> const* allowed = &s.anonymous_scopes;
  if (has_credentials) {
    auto it = s.users.find(account);
    if (it == s.users.end() || it->second.password != password)
      return json_reply(
          401, {{"details", "incorrect username or password"}},
          {{"Www-Authenticate", "Basic realm=\"" + std::string(cloud_registry::auth_host) + "\""}});
    allowed = &it->second.scopes;
  }
  // The token server grants the intersection of requested and allowed actions, silently (§4.2).
  auto const now = clock_type::now() + s.token_skew;
  issued_token token{service, now - std::chrono::seconds(1), now + std::chrono::seconds(300), {}};
  nlohmann::json access = nlohmann::json::array();
  std::string granted_scopes;
  for (auto const& requested : scopes) {
    auto [resource, wanted] = split_scope(requested);
    std::set<std::string> granted;
    for (auto const& grant : *allowed) {
      auto [allowed_resource, allowed_actions] = split_scope(grant);
      if (allowed_resource != resource) continue;
      for (auto const& action : wanted)
        if (allowed_actions.count(action) || allowed_actions.count("*")) granted.insert(action);
    }
    if (granted.empty()) continue;
    auto colon = resource.find(':');
    std::string const type = resource.substr(0, colon), name = resource.substr(colon + 1);
    token.actions[name] = granted;
    access.push_back({{"type", type}, {"name", name}, {"actions", granted}});
    std::string joined;
    for (auto const& a : granted) joined += (joined.empty() ? "" : ",") + a;
    granted_scopes += (granted_scopes.empty() ? "" : " ") + resource + ":" + joined;
  }
  auto const seconds = [](clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  nlohmann::json const head = {{"alg", "ES256"}, {"typ", "JWT"}, {"kid", "TEST:KEY1"}};
  nlohmann::json const payload = {{"iss", cloud_registry::auth_host},
                                  {"sub", account},
                                  {"aud", service},
                                  {"iat", seconds(now)},
                                  {"nbf", seconds(token.not_before)},
                                  {"exp", seconds(token.expires)},
                                  {"jti", std::to_string(s.tokens.size() + 1)},
                                  {"access", access}};
  std::string jwt = capture::base64url_encode(head.dump()) + "." + capture::base64url_encode(payload.dump());
  jwt += "." + capture::base64url_encode(digest_of(jwt + storage_key));
  s.tokens[jwt] = token;
  nlohmann::json body = {{"access_token", jwt}, {"expires_in", 300}, {"issued_at", iso8601(now)}};
  if (post)
    body["scope"] = granted_scopes;
  else
    body["token"] = jwt;
  return json_reply(200, body);
}

// ---- storage (storage.test), answering like Azure Blob -------------------------------------------

reply storage_service(cloud_registry::state& s, received_request const& r) {
  std::string const path = path_of(r.target);
  std::map<std::string, std::string> query;
  for (auto const& p : split_query(query_of(r.target))) query[std::string(p.key)] = percent_decode(p.value);
  if (!header(r, "authorization").empty())
    return azure_error(400, "InvalidAuthenticationInfo",
                       "Authentication information is not given in the correct format. Check the value of "
                       "Authorization header.");
  std::string const se = query["se"], sp = query["sp"];
  auto const now = clock_type::now();
  if (query["sig"] != sas_signature(storage_key, path, se, sp))
    return azure_error(
        403, "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header "
        "is formed correctly including the signature.",
        "Signature did not match. String to sign used was " + sp + "\n\n" + se + "\n/blob/registrytest" +
            path + "\n\n\n\n2020-10-02\nb\n\n\n\n\n\n");
  if (se < iso8601(now))  // ISO 8601 UTC timestamps of one format compare as text
    return azure_error(
        403, "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header "
        "is formed correctly including the signature.",
        "Signature not valid in the specified time frame: Start [] - Expiry [" + se + "] - Current [" +
            http_date(now) + "]");
  std::lock_guard lock(s.mutex);
  for (auto const& [digest, content] : s.blobs) {
    if (blob_path(digest) != path) continue;
    reply ok{200,
             {{"Content-Type", "application/octet-stream"},
              {"x-ms-blob-type", "BlockBlob"},
              {"Server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"},
              {"Accept-Ranges", "bytes"}},
             content,
             {}};
    if (auto range = header(r, "range"); range.starts_with("bytes=")) {
      auto from = std::min<std::size_t>(std::stoull(range.substr(6)), content.size());
      ok.status = 206;
      ok.headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" +
                                                   std::to_string(content.size() - 1) + "/" +
                                                   std::to_string(content.size()));
      ok.body = content.substr(from);
    }
    return ok;
  }
  return azure_error(404, "BlobNotFound", "The specified blob does not exist.");
}

// ---- registry (registry.test) --------------------------------------------------------------------

reply registry_service(cloud_registry const& self, cloud_registry::state& s, received_request const& r) {
  std::string const path = path_of(r.target);
  bool const read = r.method == "GET" || r.method == "HEAD";
  if (path == "/v2/" || path == "/v2") {
    if (s.bearer)
      if (auto refused = check_token(self, s, r, "", {})) return *refused;
    return {200,
            {{"Content-Type", "application/json"}, {"Docker-Distribution-Api-Version", api_version}},
            "{}",
            {}};
  }
  std::string name, kind, reference;
  for (std::string k : {"/manifests/", "/blobs/uploads/", "/blobs/"}) {
    auto at = path.rfind(k);
    if (path.starts_with("/v2/") && at != std::string::npos && at > 4) {
      name = path.substr(4, at - 4), kind = k, reference = path.substr(at + k.size());
      break;
    }
  }
  if (name.empty()) return registry_error(404, "NAME_UNKNOWN", "repository name not known to registry");
  if (s.bearer) {
    std::set<std::string> actions{"pull"};
    if (!read) actions.insert("push");
    if (auto refused = check_token(self, s, r, name, actions)) return *refused;
  }
  std::lock_guard lock(s.mutex);
  header_pairs api{{"Docker-Distribution-Api-Version", api_version}};
  if (kind == "/manifests/") {
    if (r.method == "PUT") {
      std::string digest = digest_of(r.body);
      s.manifests[name + ":" + reference] = {header(r, "content-type"), r.body, digest};
      s.manifests[name + ":" + digest] = {header(r, "content-type"), r.body, digest};
      return {
          201,
          {api[0], {"Location", "/v2/" + name + "/manifests/" + digest}, {"Docker-Content-Digest", digest}},
          "",
          {}};
    }
    auto it = s.manifests.find(name + ":" + reference);
    if (it == s.manifests.end()) return registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown");
    return {200,
            {api[0], {"Content-Type", it->second.media_type}, {"Docker-Content-Digest", it->second.digest}},
            it->second.body,
            {}};
  }
  if (kind == "/blobs/uploads/")
    return {202,
            {api[0],
             {"Location", "/v2/" + name + "/blobs/uploads/3f0c1a9e-upload"},
             {"Range", "0-0"},
             {"Docker-Upload-UUID", "3f0c1a9e-upload"}},
            "",
            {}};
  if (!s.blobs.count(reference)) return registry_error(404, "BLOB_UNKNOWN", "blob unknown to registry");
  auto const location = self.presigned_url(reference, clock_type::now() + s.presign_lifetime, !s.wrong_key);
  return {307, {api[0], {"Location", location}, {"Docker-Content-Digest", reference}}, "", {}};
}

}  // namespace regtrace::test::cloud
