#include "capture/har/har_writer.hpp"

#include "capture/registry/classifier.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/url.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>

namespace regtrace::capture {
namespace {

using nlohmann::json;

json name_value(std::string_view name, std::string_view value) {
  return json{{"name", std::string(name)}, {"value", std::string(value)}};
}

/// Splits "a=1&b&c=3" into name/value pairs, raw: HAR viewers show what went over the wire.
json split_params(std::string_view text) {
  json out = json::array();
  for (auto const& param : split_query(text)) out.push_back(name_value(param.key, param.value));
  return out;
}

json query_string(std::string_view target) {
  auto const q = target.find('?');
  if (q == std::string_view::npos) return json::array();
  auto query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  return split_params(query);
}

json headers_json(header_list const& headers) {
  json out = json::array();
  for (auto const& h : headers) out.push_back(name_value(h.name, h.value));
  return out;
}

/// The parts of a cookie header between ';', without their surrounding spaces and tabs.
std::vector<std::string_view> cookie_parts(std::string_view value) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto const semi = value.find(';');
    parts.push_back(trim_ows(value.substr(0, semi)));
    if (semi == std::string_view::npos) return parts;
    value.remove_prefix(semi + 1);
  }
}

/// "name=value" as a HAR cookie; a part without '=' is a value with no name.
json cookie_json(std::string_view pair) {
  auto const eq = pair.find('=');
  return eq == std::string_view::npos ? name_value("", pair)
                                      : name_value(trim_ows(pair.substr(0, eq)), trim_ows(pair.substr(eq + 1)));
}

/// RFC 6265 §4.2.1: "Cookie: a=1; b=2", possibly in several header lines.
json request_cookies(header_list const& headers) {
  json out = json::array();
  for (auto const& h : headers) {
    if (!iequals(h.name, "cookie")) continue;
    for (auto const pair : cookie_parts(h.value))
      if (!pair.empty()) out.push_back(cookie_json(pair));
  }
  return out;
}

/// RFC 6265 §4.1.1: the first pair of each Set-Cookie is the cookie; the rest are attributes.
json response_cookies(header_list const& headers) {
  json out = json::array();
  for (auto const& h : headers) {
    if (!iequals(h.name, "set-cookie")) continue;
    auto const parts = cookie_parts(h.value);
    json cookie = cookie_json(parts.front());
    for (std::size_t i = 1; i < parts.size(); ++i) {
      auto const eq = parts[i].find('=');
      auto const key = trim_ows(parts[i].substr(0, eq));
      auto const value = eq == std::string_view::npos ? std::string_view{} : trim_ows(parts[i].substr(eq + 1));
      if (iequals(key, "path")) cookie["path"] = std::string(value);
      if (iequals(key, "domain")) cookie["domain"] = std::string(value);
      if (iequals(key, "httponly")) cookie["httpOnly"] = true;
      if (iequals(key, "secure")) cookie["secure"] = true;
    }
    out.push_back(std::move(cookie));
  }
  return out;
}

std::string mime_type(header_list const& headers) {
  auto const* type = find_header(headers, "content-type");
  return type ? *type : std::string("x-unknown");
}

/// Why a body's bytes are absent or incomplete in the HAR, or "" when the text is all there.
std::string body_comment(body_record const& body) {
  if (body.bytes == 0) return {};
  if (!body.text_kept) {
    return "binary body not stored (" + std::to_string(body.bytes) + " bytes, sha256 " + body.sha256 + ")";
  }
  if (body.text_truncated) {
    return "text truncated to " + std::to_string(body.text.size()) + " of " + std::to_string(body.bytes) +
           " bytes (sha256 " + body.sha256 + ")";
  }
  return {};
}

json request_json(exchange const& x) {
  json request{
      {"method", x.method},
      {"url", x.url()},
      {"httpVersion", x.http_version},
      {"cookies", request_cookies(x.request_headers)},
      {"headers", headers_json(x.request_headers)},
      {"queryString", query_string(x.target)},
      {"headersSize", -1},
      {"bodySize", x.request_body.bytes},
  };
  if (x.request_body.bytes > 0) {
    auto const type = mime_type(x.request_headers);
    json post{{"mimeType", type}, {"text", x.request_body.text_kept ? x.request_body.text : std::string()}};
    auto const base = std::string_view(type).substr(0, type.find(';'));
    if (x.request_body.text_kept && iequals(trim_ows(base), "application/x-www-form-urlencoded")) {
      post["params"] = split_params(x.request_body.text);
    }
    if (auto comment = body_comment(x.request_body); !comment.empty()) post["comment"] = std::move(comment);
    request["postData"] = std::move(post);
  }
  return request;
}

std::string failure_message(exchange const& x) {
  return x.failure ? x.failure->message : std::string("no response");
}

json response_json(exchange const& x) {
  auto const* location = find_header(x.response_headers, "location");
  json response{
      {"status", x.status},
      {"statusText", x.reason},
      {"httpVersion", x.response_http_version},
      {"cookies", response_cookies(x.response_headers)},
      {"headers", headers_json(x.response_headers)},
      {"redirectURL", location ? *location : std::string()},
      {"headersSize", -1},
      {"bodySize", x.response_body.bytes},
  };
  if (x.status == 0) {
    // Chrome's convention for a request that got no response: status 0 and an _error string.
    response["statusText"] = "";
    response["httpVersion"] = "";
    response["content"] = json{{"size", 0}, {"mimeType", "x-unknown"}};
    response["_error"] = failure_message(x);
    return response;
  }
  json content{{"size", x.response_body.bytes}, {"mimeType", mime_type(x.response_headers)}};
  if (x.response_body.text_kept) content["text"] = x.response_body.text;
  if (auto comment = body_comment(x.response_body); !comment.empty()) content["comment"] = std::move(comment);
  response["content"] = std::move(content);
  return response;
}

json timings_json(timings_ms const& t) {
  // HAR 1.2: blocked, dns, connect and ssl may be -1 (not applicable); send, wait and receive may not.
  auto optional = [](double v) { return v < 0 ? -1.0 : v; };
  auto required = [](double v) { return v < 0 ? 0.0 : v; };
  return json{{"blocked", optional(t.blocked)}, {"dns", optional(t.dns)},   {"connect", optional(t.connect)},
              {"ssl", optional(t.ssl)},         {"send", required(t.send)}, {"wait", required(t.wait)},
              {"receive", required(t.receive)}};
}

json tls_json(tls_leg const& leg) {
  return json{{"version", leg.version},
              {"cipher", leg.cipher},
              {"alpn", leg.alpn},
              {"sni", leg.sni},
              {"session_resumed", leg.session_resumed},
              {"verified", leg.verified},
              {"verify_error", leg.verify_error},
              {"peer_chain", leg.peer_chain}};
}

json body_json(body_record const& body) {
  return json{{"bytes", body.bytes},
              {"sha256", body.sha256},
              {"complete", body.complete},
              {"text_truncated", body.text_truncated}};
}

json failure_json(failure_record const& f) {
  json out{{"phase", std::string(to_string(f.where))},
           {"category", f.code_category},
           {"value", f.code_value},
           {"message", f.message},
           {"detail", f.detail}};
  if (f.peer != failing_peer::unknown) out["peer"] = std::string(to_string(f.peer));
  return out;
}

/// One line for HAR viewers that show entry comments: phase, message and what regtrace was doing.
std::string failure_comment(failure_record const& f) {
  std::string line = std::string(to_string(f.where)) + ": " + f.message;
  if (!f.detail.empty()) line += " (" + f.detail + ")";
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

json registry_json(exchange const& x) {
  auto const c = registry::classify(x.method, x.host, x.target);
  return json{{"kind", std::string(registry::to_string(c.kind))},
              {"repository", c.repository},
              {"reference", c.reference},
              {"digest", c.digest},
              {"upload_id", c.upload_id}};
}

json regtrace_json(exchange const& x) {
  json r{
      {"kind", std::string(to_string(x.kind))},
      {"connection_id", x.connection_id},
      {"request_index", x.request_index},
      {"upstream_connection_id", x.upstream_connection_id},
      {"upstream_reused", x.upstream_reused},
      {"client_address", x.client_address},
      {"generated_response", x.generated_response},
      {"insecure_upstream", x.insecure_upstream},
      {"passthrough", x.kind == entry_kind::tunnel},
      {"request_body", body_json(x.request_body)},
      {"response_body", body_json(x.response_body)},
      {"registry", registry_json(x)},
      {"findings", x.finding_ids},
  };
  if (x.client_tls) r["client_tls"] = tls_json(*x.client_tls);
  if (x.upstream_tls) r["upstream_tls"] = tls_json(*x.upstream_tls);
  if (x.failure) r["failure"] = failure_json(*x.failure);
  if (x.replayed_from) r["replayed_from"] = *x.replayed_from;
  if (!x.upstream_proxy.empty()) r["upstream_proxy"] = x.upstream_proxy;  // direct entries stay as they were
  if (!x.unparsed_hex.empty()) r["unparsed_hex"] = x.unparsed_hex;
  return r;
}

}  // namespace

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  auto const ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(ms / 1000);
  auto millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

json to_har_entry(exchange const& x) {
  json entry{
      {"startedDateTime", iso8601_utc(x.started)},
      {"time", x.total_ms()},
      {"request", request_json(x)},
      {"response", response_json(x)},
      {"cache", json::object()},
      {"timings", timings_json(x.timings)},
      {"connection", "c" + std::to_string(x.connection_id)},
      {"_regtrace", regtrace_json(x)},
  };
  if (!x.server_ip.empty()) entry["serverIPAddress"] = x.server_ip;
  if (x.failure) entry["comment"] = failure_comment(*x.failure);
  return entry;
}

}  // namespace regtrace::capture
