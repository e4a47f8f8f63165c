#include "capture/registry/jwt.hpp"

#include "capture/text/ascii.hpp"
#include "capture/text/display.hpp"
#include "capture/text/base64.hpp"
#include "capture/text/percent.hpp"
#include "capture/text/url.hpp"
#include "capture/registry/classifier.hpp"

#include <nlohmann/json.hpp>

namespace regtrace::capture::registry {
namespace {

using nlohmann::json;

std::string string_member(json const& doc, char const* key) {
  auto const it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::optional<std::int64_t> time_member(json const& doc, char const* key) {
  auto const it = doc.find(key);
  if (it == doc.end() || !it->is_number()) return std::nullopt;
  return it->is_number_float() ? static_cast<std::int64_t>(it->get<double>()) : it->get<std::int64_t>();
}

std::optional<json> decode_part(std::string_view part) {
  auto text = base64_decode(part);
  if (!text) return std::nullopt;
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

std::vector<jwt_access> read_access(json const& list) {
  std::vector<jwt_access> out;
  for (json const& item : list) {
    if (!item.is_object()) continue;
    jwt_access entry{string_member(item, "type"), string_member(item, "name"), {}};
    if (auto const actions = item.find("actions"); actions != item.end() && actions->is_array())
      for (json const& a : *actions)
        if (a.is_string()) entry.actions.push_back(a.get<std::string>());
    out.push_back(std::move(entry));
  }
  return out;
}

// "Basic <redacted user=alice sha256:...>" as redaction writes it, or the user of a plain credential;
// the password is never copied.
std::string basic_username(std::string_view credential) {
  if (auto const at = credential.find("user=");
      credential.starts_with("<redacted ") && at != std::string_view::npos) {
    auto const user = credential.substr(at + 5);
    return std::string(user.substr(0, user.find_first_of(" >")));
  }
  auto const decoded = base64_decode(credential);
  if (!decoded) return {};
  auto const colon = decoded->find(':');
  return colon == std::string::npos ? std::string{} : decoded->substr(0, colon);
}

void add_scopes(std::string_view value, bool plus_is_space, std::vector<std::string>& out) {
  std::string const decoded = percent_decode(value, plus_is_space);
  std::string_view rest = decoded;
  while (!rest.empty()) {
    auto const space = rest.find(' ');
    if (space != 0) out.emplace_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
}

}  // namespace

token_request read_token_request(exchange const& x) {
  token_request out;
  if (auto const* auth = find_header(x.request_headers, "Authorization")) {
    std::string_view value = *auth;
    auto const space = value.find(' ');
    auto const scheme = value.substr(0, space);
    if (iequals(scheme, "Basic")) {
      out.credential = "Basic";
      if (space != std::string_view::npos) out.username = basic_username(value.substr(space + 1));
    } else if (!scheme.empty()) {
      out.credential = std::string(scheme);
    }
  }
  std::string_view target = x.target;
  auto const question = target.find('?');
  std::string_view const query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  for (auto const& p : split_query(query)) {
    if (p.key == "scope") add_scopes(p.value, true, out.scopes);
    if (p.key == "service") out.service = percent_decode(p.value, true);
    if (p.key == "account" && !p.value.empty()) {
      out.has_account = true;
      if (out.username.empty()) out.username = percent_decode(p.value, true);
    }
  }
  if (x.method != "POST") return out;
  // Catalog §4.4: the OAuth2 form carries grant_type, username and a space-separated scope.
  std::string grant;
  for (auto const& p : split_query(x.request_body.text)) {
    if (p.key == "scope") add_scopes(p.value, true, out.scopes);
    if (p.key == "service") out.service = percent_decode(p.value, true);
    if (p.key == "grant_type") grant = percent_decode(p.value, true);
    if (p.key == "username" && !p.value.empty()) out.username = percent_decode(p.value, true);
  }
  // Any grant carries a secret (password, refresh token, ACR's AAD access token).
  if (out.credential.empty() && !grant.empty()) out.credential = grant + " grant";
  return out;
}

std::optional<jwt_claims> decode_jwt(std::string_view token) {
  auto const first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  auto const second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  // The third part, the signature, is deliberately never looked at.
  auto header = decode_part(token.substr(0, first));
  auto payload = decode_part(token.substr(first + 1, second - first - 1));
  if (!header || !payload) return std::nullopt;

  jwt_claims claims;
  claims.algorithm = string_member(*header, "alg");
  if (auto const access = payload->find("access"); access != payload->end() && access->is_array()) {
    claims.has_access = true;
    claims.access = read_access(*access);
  }
  if (auto const aud = payload->find("aud"); aud != payload->end()) {
    if (aud->is_string()) {
      claims.audiences.push_back(aud->get<std::string>());
    } else if (aud->is_array()) {
      for (json const& a : *aud)
        if (a.is_string()) claims.audiences.push_back(a.get<std::string>());
    }
  }
  claims.issuer = string_member(*payload, "iss");
  claims.subject = string_member(*payload, "sub");
  claims.expires = time_member(*payload, "exp");
  claims.not_before = time_member(*payload, "nbf");
  claims.issued_at = time_member(*payload, "iat");
  return claims;
}

std::string_view bearer_credential(std::string_view authorization) {
  auto const space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "Bearer")) return {};
  auto credential = authorization.substr(space + 1);
  while (credential.starts_with(' ')) credential.remove_prefix(1);
  return credential;
}

token_answer parse_token_answer(std::string_view body) {
  token_answer out;
  json const doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return out;
  out.is_json_object = true;
  std::string const token = string_member(doc, "token");
  std::string const access_token = string_member(doc, "access_token");
  out.has_token = !token.empty();
  out.has_access_token = !access_token.empty();
  out.token = out.has_token ? token : access_token;
  out.expires_in = time_member(doc, "expires_in");
  out.scope = string_member(doc, "scope");
  return out;
}

std::string granted_text(std::vector<jwt_access> const& access) {
  std::vector<std::string> items;
  for (auto const& a : access) items.push_back(a.type + ":" + a.name + ":" + join(a.actions, ","));
  return items.empty() ? "nothing (empty access list)" : join(items);
}

}  // namespace regtrace::capture::registry
