// What a span says of an exchange: the OpenTelemetry HTTP semantic conventions (client span), plus
// regtrace.* attributes, and the W3C trace context of the request. Encoding is in otlp_encode.cpp.
#include "capture/export/otlp_spans.hpp"

#include "capture/redaction/redaction.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/percent.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace regtrace::capture::otlp {
namespace {

// OTLP Span.flags bits (trace.proto SpanFlags): whether the parent's remoteness is known, and is.
constexpr std::uint32_t context_has_is_remote = 0x100;
constexpr std::uint32_t context_is_remote = 0x200;
// W3C tracestate: at most 512 characters are worth propagating (trace-context §3.3.1.5).
constexpr std::size_t max_trace_state = 512;

// Lower-case hex only: W3C trace-context §3.2.2 forbids upper case in traceparent.
template <std::size_t N>
bool read_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  for (std::size_t i = 0; i < N; ++i)
    out[i] = static_cast<std::uint8_t>(hex_digit_value(text[2 * i]) * 16 + hex_digit_value(text[2 * i + 1]));
  return std::any_of(out.begin(), out.end(), [](std::uint8_t b) { return b != 0; });
}

// HTTP semconv: http.request.method is one of the RFC 9110 methods (and PATCH), otherwise "_OTHER".
bool is_known_method(std::string_view method) {
  for (std::string_view known :
       {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
    if (method == known) return true;
  return false;
}

// "HTTP/1.1" -> "1.1" (network.protocol.version).
std::string protocol_version(std::string_view http_version) {
  return std::string(http_version.starts_with("HTTP/") ? http_version.substr(5) : http_version);
}

std::uint64_t unix_nano(std::chrono::system_clock::time_point t) {
  auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
}

// "GET manifest" for a registry request, else the method alone (the convention's low-cardinality
// name, {method}, when no route template is known).
std::string span_name(exchange const& x, registry::request_kind kind) {
  std::string const method = x.method.empty() ? std::string("HTTP") : x.method;
  if (x.kind != entry_kind::exchange || kind == registry::request_kind::other) return method;
  return method + " " + std::string(registry::to_string(kind));
}

void add(std::vector<attribute>& out, std::string key, attribute_value value) {
  out.push_back({std::move(key), std::move(value)});
}
void add_nonempty(std::vector<attribute>& out, std::string key, std::string const& value) {
  if (!value.empty()) add(out, std::move(key), value);
}

// The HTTP semantic conventions' client-span attributes (url.full redacted).
void add_http_attributes(std::vector<attribute>& out, exchange const& x, registry::request_kind kind) {
  if (is_known_method(x.method)) {
    add(out, "http.request.method", x.method);
  } else {
    add(out, "http.request.method", std::string("_OTHER"));
    add_nonempty(out, "http.request.method_original", x.method);
  }
  add(out, "url.full", redact_url(x.url(), kind == registry::request_kind::storage));
  add(out, "server.address", x.host);
  add(out, "server.port", std::int64_t{x.port});
  if (x.status > 0) add(out, "http.response.status_code", std::int64_t{x.status});
  add(out, "network.protocol.version",
      protocol_version(x.status > 0 ? x.response_http_version : x.http_version));
  add_nonempty(out, "network.peer.address", x.server_ip);
  if (auto const* agent = find_header(x.request_headers, "User-Agent"))
    add(out, "user_agent.original", *agent);
  add(out, "http.request.body.size", static_cast<std::int64_t>(x.request_body.bytes));
  if (x.status > 0) add(out, "http.response.body.size", static_cast<std::int64_t>(x.response_body.bytes));
}

// tls.* of the registry leg: "TLSv1.3" is tls.protocol.name "tls" and tls.protocol.version "1.3".
void add_tls_attributes(std::vector<attribute>& out, exchange const& x) {
  if (!x.upstream_tls || x.upstream_tls->version.empty()) return;
  auto const& tls = *x.upstream_tls;
  std::string_view version = tls.version;
  if (version.starts_with("TLSv")) {
    add(out, "tls.protocol.name", std::string("tls"));
    version.remove_prefix(4);
  }
  add(out, "tls.protocol.version", std::string(version));
  add_nonempty(out, "tls.cipher", tls.cipher);
  add_nonempty(out, "tls.next_protocol", tls.alpn);
  add(out, "tls.resumed", tls.session_resumed);
}

void add_regtrace_attributes(std::vector<attribute>& out, exchange const& x,
                             registry::classification const& cls) {
  add(out, "regtrace.entry.kind", std::string(to_string(x.kind)));
  add(out, "regtrace.request.kind", std::string(registry::to_string(cls.kind)));
  add_nonempty(out, "regtrace.repository", cls.repository);
  add_nonempty(out, "regtrace.reference", cls.reference);
  add_nonempty(out, "regtrace.digest", cls.digest);
  add_nonempty(out, "regtrace.request.body.sha256", x.request_body.sha256);
  add_nonempty(out, "regtrace.response.body.sha256", x.response_body.sha256);
  add(out, "regtrace.connection_id", static_cast<std::int64_t>(x.connection_id));
  add(out, "regtrace.request_index", static_cast<std::int64_t>(x.request_index));
  if (x.upstream_connection_id) add(out, "regtrace.upstream.reused", x.upstream_reused);
  if (x.generated_response) add(out, "regtrace.generated_response", true);
  if (!x.finding_ids.empty()) add(out, "regtrace.finding_ids", x.finding_ids);
}

// Status and error.type (HTTP semconv, client spans): an exchange that failed before an answer is
// an error named by its phase ("upstream_tls"); an answer of 400 or more is an error named by its
// code; anything else leaves the status unset.
void set_outcome(span_facts& span, exchange const& x) {
  if (x.failure) {
    span.error = true;
    span.status_message = x.failure->message;
    add(span.attributes, "error.type", std::string(to_string(x.failure->where)));
  } else if (x.status >= 400 || x.status == 0) {
    span.error = true;
    add(span.attributes, "error.type", x.status ? std::to_string(x.status) : std::string("_OTHER"));
  }
}

// The parent from the request's trace context; only one traceparent header may be there (W3C §3.2).
void set_context(span_facts& span, exchange const& x) {
  std::string const* value = nullptr;
  for (auto const& field : x.request_headers) {
    if (!iequals(field.name, "traceparent")) continue;
    if (value) return;  // repeated: invalid
    value = &field.value;
  }
  auto const parent = value ? parse_traceparent(*value) : std::nullopt;
  span.flags = context_has_is_remote | 0x01;  // no parent: a local root, recorded (sampled)
  if (!parent) return;
  span.trace = parent->trace;
  span.parent = parent->parent;
  span.flags = context_has_is_remote | context_is_remote | parent->flags;
  if (auto const* state = find_header(x.request_headers, "tracestate");
      state && state->size() <= max_trace_state)
    span.trace_state = *state;
}

}  // namespace

std::optional<trace_parent> parse_traceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  constexpr std::size_t length = 55;
  if (value.size() < length || value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  std::array<std::uint8_t, 1> version{}, flags{};
  trace_parent out;
  // read_hex refuses all-zero ids; version 00 and flags 00 are valid, so those are checked apart.
  bool const version_ok = read_hex(value.substr(0, 2), version) || value.substr(0, 2) == "00";
  if (!version_ok || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && value.size() != length) return std::nullopt;
  if (value.size() > length && value[length] != '-') return std::nullopt;
  if (!read_hex(value.substr(3, 32), out.trace) || !read_hex(value.substr(36, 16), out.parent))
    return std::nullopt;
  if (!read_hex(value.substr(53, 2), flags) && value.substr(53, 2) != "00") return std::nullopt;
  out.flags = flags[0];
  return out;
}

span_facts facts_of(exchange const& x, span_ids const& fresh) {
  auto const cls = registry::classify(x.method, x.host, x.target);
  span_facts span;
  span.trace = fresh.trace;
  span.span = fresh.span;
  set_context(span, x);
  span.name = span_name(x, cls.kind);
  span.start_unix_nano = unix_nano(x.started);
  auto const total_ns = std::max(0.0, std::round(x.total_ms() * 1e6));
  span.end_unix_nano = span.start_unix_nano + static_cast<std::uint64_t>(total_ns);
  add_http_attributes(span.attributes, x, cls.kind);
  add_tls_attributes(span.attributes, x);
  add_regtrace_attributes(span.attributes, x, cls);
  set_outcome(span, x);
  span.finding_ids = x.finding_ids;
  return span;
}

}  // namespace regtrace::capture::otlp
