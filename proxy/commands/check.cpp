#include "proxy/commands/check.hpp"

#include "capture/registry/challenge.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/registry/jwt.hpp"
#include "proxy/config/connect_target.hpp"

#include <chrono>
#include <cstdio>

namespace regtrace::proxy {
namespace {

using capture::exchange;
using capture::registry::request_kind;

std::string ms(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", value);
  return text;
}

std::string failure_sentence(capture::failure_record const& f) {
  return f.detail + (f.message.empty() ? "" : ": " + f.message);
}

// DNS, TCP and TLS of the first connection: every later one went the same way, or failed alike.
void describe_connection(exchange const& x, std::vector<std::string>& lines) {
  auto const failed_in = [&](capture::phase p) { return x.failure && x.failure->where == p; };
  if (failed_in(capture::phase::resolve)) {
    lines.push_back("DNS      " + x.host + ": " + failure_sentence(*x.failure));
    return;
  }
  lines.push_back("DNS      " + x.host + (x.server_ip.empty() ? "" : " -> " + x.server_ip) +
                  (x.timings.dns > 0 ? " (" + ms(x.timings.dns) + ")" : ""));
  if (failed_in(capture::phase::upstream_connect)) {
    lines.push_back("TCP      " + failure_sentence(*x.failure));
    return;
  }
  double const tcp_ms = x.timings.ssl >= 0 ? x.timings.connect - x.timings.ssl : x.timings.connect;
  lines.push_back("TCP      connected to port " + std::to_string(x.port) +
                  (tcp_ms >= 0 ? " (" + ms(tcp_ms) + ")" : ""));
  if (x.scheme != "https") {
    lines.push_back("TLS      none: plain HTTP");
    return;
  }
  if (failed_in(capture::phase::upstream_tls)) lines.push_back("TLS      " + failure_sentence(*x.failure));
  if (!x.upstream_tls) return;
  auto const& tls = *x.upstream_tls;
  if (!x.failure || x.failure->where != capture::phase::upstream_tls) {
    std::string line = "TLS      " + tls.version + " " + tls.cipher;
    if (!tls.alpn.empty()) line += ", ALPN " + tls.alpn;
    line += tls.verified ? ", certificate verified" : ", certificate NOT verified (" + tls.verify_error + ")";
    if (x.timings.ssl >= 0) line += " (" + ms(x.timings.ssl) + ")";
    lines.push_back(line);
  }
  for (auto const& certificate : tls.peer_chain) lines.push_back("         " + certificate);
}

// What a token answer granted, read from its JWT when it is one (opaque tokens say less).
std::string token_summary(exchange const& x) {
  auto const answer = capture::registry::parse_token_answer(x.response_body.text);
  if (!answer.has_token && !answer.has_access_token) return "the answer holds no token";
  std::string out = "token issued";
  if (answer.expires_in) out += ", expires in " + std::to_string(*answer.expires_in) + " s";
  auto const claims = capture::registry::decode_jwt(answer.token);
  if (!claims) return out + " (opaque, not a JWT)";
  if (claims->has_access) out += "; grants " + capture::registry::granted_text(claims->access);
  if (!claims->subject.empty()) out += "; subject " + claims->subject;
  return out;
}

bool is_api_version_check(exchange const& x) {
  return x.target == "/v2/" || x.target == "/v2";
}

}  // namespace

std::optional<check_target> parse_check_target(std::string_view text) {
  check_target out;
  if (text.starts_with("http://")) {
    out.scheme = "http";
    text.remove_prefix(7);
  } else if (text.starts_with("https://")) {
    text.remove_prefix(8);
  }
  auto const slash = text.find('/');
  auto const registry = text.substr(0, slash);
  std::string_view image = slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
  if (registry.empty()) return std::nullopt;
  auto const url = parse_absolute_target(out.scheme + "://" + std::string(registry) + "/");
  if (!url) return std::nullopt;
  out.host = url->destination.host;
  out.port = url->destination.port;
  if (out.host == "docker.io" || out.host == "index.docker.io") out.host = "registry-1.docker.io";

  while (image.ends_with('/')) image.remove_suffix(1);
  if (image.empty()) return out;
  if (auto const at = image.find('@'); at != std::string_view::npos) {
    out.reference = std::string(image.substr(at + 1));
    image = image.substr(0, at);
    if (out.reference.empty()) return std::nullopt;
  } else if (auto const colon = image.rfind(':'); colon != std::string_view::npos) {
    out.reference = std::string(image.substr(colon + 1));
    image = image.substr(0, colon);
    if (out.reference.empty()) return std::nullopt;
  }
  if (image.empty()) return std::nullopt;
  out.repository = std::string(image);
  if (out.reference.empty()) out.reference = "latest";
  if (out.host == "registry-1.docker.io" && out.repository.find('/') == std::string::npos)
    out.repository = "library/" + out.repository;
  return out;
}

namespace {

exchange request_to(check_target const& target, std::string method, std::string path) {
  exchange x;
  x.method = std::move(method);
  x.scheme = target.scheme;
  x.host = target.host;
  x.port = target.port;
  x.target = std::move(path);
  return x;
}

}  // namespace

exchange api_version_request(check_target const& target) { return request_to(target, "GET", "/v2/"); }

exchange manifest_request(check_target const& target) {
  auto x = request_to(target, "HEAD", "/v2/" + target.repository + "/manifests/" + target.reference);
  x.request_headers.push_back(
      {"Accept",
       "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
       "application/vnd.docker.distribution.manifest.list.v2+json, "
       "application/vnd.docker.distribution.manifest.v2+json"});
  return x;
}

std::vector<std::string> describe_probe(std::vector<exchange> const& transcript) {
  std::vector<std::string> lines;
  if (transcript.empty()) return lines;
  describe_connection(transcript.front(), lines);
  for (auto const& x : transcript) {
    bool const connection_failed =
        x.status == 0 && x.failure &&
        (x.failure->where == capture::phase::resolve || x.failure->where == capture::phase::upstream_connect ||
         x.failure->where == capture::phase::upstream_tls);
    if (connection_failed && &x == &transcript.front()) continue;  // told by describe_connection
    std::string line = "HTTP     " + x.method + " " + x.url() + " -> ";
    line += x.status ? std::to_string(x.status) + " " + x.reason
                     : (x.failure ? failure_sentence(*x.failure) : std::string("no answer"));
    lines.push_back(line);
    if (x.status == 401)
      if (auto const* challenge = capture::find_header(x.response_headers, "WWW-Authenticate"))
        lines.push_back("         challenge: " + *challenge);
    auto const kind = capture::registry::classify(x.method, x.host, x.target).kind;
    if (kind == request_kind::token && x.status == 200) lines.push_back("         " + token_summary(x));
    if (x.status >= 200 && x.status < 300)
      if (auto const* digest = capture::find_header(x.response_headers, "Docker-Content-Digest"))
        lines.push_back("         digest: " + *digest);
  }
  return lines;
}

bool check_passed(std::vector<exchange> const& transcript,
                  std::vector<capture::rules::finding> const& findings) {
  for (auto const& f : findings)
    if (f.level >= capture::rules::severity::error) return false;
  // The last answer to each probe request is the one that counts: a 401 answered with a token is fine.
  exchange const* last_version = nullptr;
  exchange const* last_manifest = nullptr;
  for (auto const& x : transcript) {
    auto const kind = capture::registry::classify(x.method, x.host, x.target).kind;
    if (kind == request_kind::token) continue;
    if (is_api_version_check(x)) last_version = &x;
    else last_manifest = &x;
  }
  auto const ok = [](exchange const* x) { return x == nullptr || (x->status >= 200 && x->status < 300); };
  return last_version != nullptr && ok(last_version) && ok(last_manifest);
}

}  // namespace regtrace::proxy
