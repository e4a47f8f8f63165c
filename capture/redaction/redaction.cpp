#include "capture/redaction/redaction.hpp"

#include "capture/body/body_recorder.hpp"
#include "capture/redaction/redaction_detail.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/text/base64.hpp"
#include "capture/text/percent.hpp"
#include "capture/text/url.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace regtrace::capture {
namespace {

using detail::is_marker;
using detail::one_of;
using detail::redact_json;
using detail::userinfo_password;

constexpr std::string_view marker_prefix = "<redacted ";

// A marker is never redacted again: that is what makes redact() idempotent.
// In URLs and form bodies the marker is percent-encoded, so the URL stays valid for HAR viewers and
// decodes to the same marker (and fingerprint) as in headers.
constexpr std::string_view encoded_marker_prefix = "%3Credacted%20";

}  // namespace

bool detail::is_marker(std::string_view value) {
  return (value.starts_with(marker_prefix) && value.find('>') == value.size() - 1) ||
         (value.starts_with(encoded_marker_prefix) && value.ends_with("%3E"));
}

namespace {

// Percent-encodes every marker found in text (and nothing else: a query's own ':' stays as sent).
std::string encode_markers(std::string_view text) {
  std::string out;
  for (;;) {
    auto const begin = text.find(marker_prefix);
    auto const end = begin == std::string_view::npos ? begin : text.find('>', begin);
    if (end == std::string_view::npos) return out.append(text);
    out.append(text.substr(0, begin));
    for (char c : text.substr(begin, end + 1 - begin)) {
      switch (c) {
        case '<':
          out += "%3C";
          break;
        case '>':
          out += "%3E";
          break;
        case ' ':
          out += "%20";
          break;
        case ':':
          out += "%3A";
          break;
        default:
          out += c;
      }
    }
    text.remove_prefix(end + 1);
  }
}

std::string encoded_marker(std::string_view secret) {
  return encode_markers(redaction_marker(secret));
}

std::string fingerprint(std::string_view secret) {
  return sha256_hex(secret).substr(0, 8);
}

// clang-format off
// Catalog §5, request URL row: values that are credentials wherever they appear. "_state" is the
// HMAC-signed upload state: not a credential, but it lets its holder resume the upload.
constexpr std::string_view secret_query_keys[] = {
    "sig", "X-Amz-Signature", "X-Amz-Security-Token", "Signature", "AWSAccessKeyId", "X-Goog-Signature",
    "X-Goog-Credential", "GoogleAccessId", "Key-Pair-Id", "Policy", "verify", "access_token", "token",
    "refresh_token", "id_token", "password", "code", "client_secret", "assertion", "_state"};
// Registry and token-server parameters the diagnostics need (catalog §4.3); "account" is PII, not secret.
constexpr std::string_view kept_query_keys[] = {
    "account", "scope", "service", "digest", "mount", "from", "n", "last"};
// Catalog §7.1: expiry, permissions and algorithm of a pre-signed URL are not secret and explain
// D-02 (expired) and D-03 (signature mismatch); rsc* are Azure's response-* overrides.
constexpr std::string_view kept_storage_keys[] = {
    "se", "sp", "sv", "sr", "st", "spr", "Expires", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Algorithm",
    "X-Amz-SignedHeaders", "X-Goog-Algorithm", "X-Goog-Date", "X-Goog-Expires", "X-Goog-SignedHeaders",
    "rscc", "rscd", "rsce", "rscl", "rsct"};
// clang-format on

// Catalog §5: decode Basic only to keep the username (ECR "AWS", GCP "_json_key", ACR "0000...").
std::string basic_marker(std::string_view credential) {
  std::string user;
  if (auto decoded = base64_decode(credential)) {
    auto const colon = decoded->find(':');
    if (colon != std::string::npos && colon > 0 && colon <= 256) user = decoded->substr(0, colon);
    // Only a printable name that cannot end the marker early is kept.
    if (!std::ranges::all_of(user, [](char c) { return c > ' ' && c < 0x7f && c != '<' && c != '>'; }))
      user.clear();
  }
  return std::string(marker_prefix) + (user.empty() ? "" : "user=" + user + " ") +
         "sha256:" + fingerprint(credential) + ">";
}

std::string redact_authorization(std::string_view value) {
  // A value redacted whole ("<redacted sha256:...>") has a space too: it is not "scheme credential".
  if (is_marker(value)) return std::string(value);
  auto const space = value.find_first_of(" \t");
  if (space == std::string_view::npos) {
    // A bare scheme ("Bearer" with no token) is a client bug worth seeing, not a secret.
    bool const keep =
        value.empty() || is_marker(value) || iequals(value, "Bearer") || iequals(value, "Basic");
    return keep ? std::string(value) : redaction_marker(value);
  }
  auto const begin = value.find_first_not_of(" \t", space);
  if (begin == std::string_view::npos) return std::string(value);
  auto const credential = value.substr(begin);
  if (is_marker(credential)) return std::string(value);
  auto const scheme = value.substr(0, space);
  return std::string(value.substr(0, begin)) +
         (iequals(scheme, "Basic") ? basic_marker(credential) : redaction_marker(credential));
}

// One "name=value" cookie pair: the value goes, the name and the spacing stay.
std::string redact_cookie_pair(std::string_view pair) {
  auto const eq = pair.find('=');
  auto const value_begin = eq == std::string_view::npos ? 0 : eq + 1;
  auto const value = trim_ows(pair.substr(value_begin));
  if (value.empty() || is_marker(value)) return std::string(pair);
  auto const offset = static_cast<std::size_t>(value.data() - pair.data());
  return std::string(pair.substr(0, offset)) + redaction_marker(value) +
         std::string(pair.substr(offset + value.size()));
}

// Cookie: every pair; Set-Cookie: only the first pair, the attributes (Path, Expires, ...) are not secret.
std::string redact_cookies(std::string_view value, bool first_pair_only) {
  std::string out;
  for (bool first = true;; first = false) {
    auto const semi = value.find(';');
    auto const pair = value.substr(0, semi);
    out += (first || !first_pair_only) ? redact_cookie_pair(pair) : std::string(pair);
    if (semi == std::string_view::npos) return out;
    out += ';';
    value.remove_prefix(semi + 1);
  }
}

// Rewrites the values of a query or form body in place, byte for byte elsewhere.
std::string redact_params(std::string_view query, bool storage_target, bool plus_is_space) {
  std::string out;
  std::size_t copied = 0;
  for (auto const& param : split_query(query)) {
    auto const raw = param.value;
    if (!param.has_value || raw.empty() || is_marker(raw)) continue;
    auto const key = percent_decode(param.key, plus_is_space);
    std::string replacement;
    if (iequals(key, "X-Amz-Credential")) {
      // "AKIA.../20240101/us-east-1/s3/aws4_request": the access-key id goes, the scope stays
      // (catalog §5, "partial redaction"); it tells which region and date the signature was for.
      auto slash = std::min(raw.find('/'), raw.size());
      for (std::string_view encoded : {"%2F", "%2f"}) slash = std::min(slash, raw.find(encoded));
      auto const key_id = raw.substr(0, slash);
      if (key_id.empty() || is_marker(key_id)) continue;
      replacement = encoded_marker(percent_decode(key_id, plus_is_space)) + std::string(raw.substr(slash));
    } else if (one_of(key, secret_query_keys)) {
      replacement = encoded_marker(percent_decode(raw, plus_is_space));
    } else if (one_of(key, kept_query_keys)) {
      continue;
    } else if (storage_target) {
      // Catalog §5: unknown storage parameters are redacted by default, only known non-secrets stay.
      if (one_of(key, kept_storage_keys) || (key.size() > 9 && iequals(key.substr(0, 9), "response-")))
        continue;
      replacement = encoded_marker(percent_decode(raw, plus_is_space));
    } else {
      replacement = redact_text(raw);
      if (replacement == raw) continue;
      replacement = encode_markers(replacement);
    }
    auto const begin = static_cast<std::size_t>(raw.data() - query.data());
    out.append(query.substr(copied, begin - copied));
    out += replacement;
    copied = begin + raw.size();
  }
  out.append(query.substr(copied));
  return out;
}

void redact_body(body_record& body, header_list const& headers) {
  if (body.text.empty()) return;
  auto const* content_type = find_header(headers, "Content-Type");
  std::string_view const type = content_type ? std::string_view(*content_type) : std::string_view{};
  auto const start = body.text.find_first_not_of(" \t\r\n");
  if (icontains(type, "application/x-www-form-urlencoded"))
    body.text = redact_params(body.text, false, true);
  else if (icontains(type, "json") || (start != std::string::npos && body.text[start] == '{'))
    body.text = redact_json(body.text);
  body.text = redact_text(body.text);
}

// The host of an absolute URL without userinfo and port; empty for a relative one.
// The host a URL names, without IPv6 brackets; "" for a relative URL.
std::string url_host(std::string_view url) {
  auto const pieces = split_url(url);
  auto const where = pieces ? split_host_port(pieces->authority) : std::nullopt;
  return where ? std::string(where->host) : std::string{};
}

// Location: a pre-signed redirect gets the storage rules; catalog §5 also says to treat any redirect
// to an unknown host as storage ("redact all query values of redirect targets, keep keys").
std::string redact_location(std::string_view location, exchange const& x) {
  auto const kind = registry::classify("GET", x.host, location).kind;
  auto const host = url_host(location);
  std::string_view own_host = x.host;
  own_host = own_host.substr(0, own_host.starts_with('[') ? own_host.size() : own_host.find(':'));
  bool const foreign_redirect = x.status >= 300 && x.status < 400 && !host.empty() &&
                                !iequals(host, own_host) && kind == registry::request_kind::other;
  return redact_url(location, kind == registry::request_kind::storage || foreign_redirect);
}

void redact_headers(header_list& headers, exchange const& x) {
  for (auto& [name, value] : headers) {
    if (iequals(name, "Authorization") || iequals(name, "Proxy-Authorization")) {
      value = redact_authorization(value);
    } else if (iequals(name, "Cookie") || iequals(name, "Cookie2")) {
      value = redact_cookies(value, false);
    } else if (iequals(name, "Set-Cookie") || iequals(name, "Set-Cookie2")) {
      value = redact_cookies(value, true);
    } else if (iequals(name, "X-Registry-Auth") || iequals(name, "X-Registry-Config") ||
               iequals(name, "X-Amz-Security-Token")) {
      // Base64 AuthConfig JSON holding passwords (catalog §5); the STS token is the header twin of
      // the X-Amz-Security-Token query parameter.
      if (!value.empty() && !is_marker(value)) value = redaction_marker(value);
    } else if (iequals(name, "Location")) {
      value = redact_location(value, x);
    } else {
      value = redact_text(value);
    }
  }
}

}  // namespace

bool is_redaction_marker(std::string_view value) {
  auto const decoded = percent_decode(value);
  return decoded.starts_with("<redacted ") && decoded.find('>') == decoded.size() - 1;
}

std::string redaction_marker(std::string_view secret) {
  return std::string(marker_prefix) + "sha256:" + fingerprint(secret) + ">";
}

std::string redact_query(std::string_view query, bool storage_target) {
  return redact_params(query, storage_target, false);
}

std::string redact_url(std::string_view url, bool storage_target) {
  std::string out;
  std::size_t copied = 0;
  auto const sep = url.find("://");
  if (sep != std::string_view::npos && sep < url.find_first_of("/?#")) {
    if (auto password = userinfo_password(url, sep)) {
      auto const [begin, end] = *password;
      out.append(url.substr(0, begin));
      out += redaction_marker(percent_decode(url.substr(begin, end - begin)));
      copied = end;
    }
  }
  auto const question = url.find('?', copied);
  if (question == std::string_view::npos) return out.append(url.substr(copied));
  auto const fragment = std::min(url.find('#', question), url.size());
  out.append(url.substr(copied, question + 1 - copied));
  out += redact_query(url.substr(question + 1, fragment - question - 1), storage_target);
  return out.append(url.substr(fragment));
}

void redact(exchange& x) {
  auto const kind = registry::classify(x.method, x.host, x.target).kind;
  x.target = redact_url(x.target, kind == registry::request_kind::storage);
  redact_headers(x.request_headers, x);
  redact_headers(x.response_headers, x);
  redact_body(x.request_body, x.request_headers);
  redact_body(x.response_body, x.response_headers);
  if (x.failure) {
    x.failure->message = redact_text(x.failure->message);
    x.failure->detail = redact_text(x.failure->detail);
  }
}

}  // namespace regtrace::capture
