#pragma once
// One OpenTelemetry span per finished exchange (SPEC §9, issue 15): what the span says, as plain data,
// and its encoding as an OTLP/HTTP request body (ExportTraceServiceRequest, protobuf). The generated
// protobuf classes stay in otlp_spans.cpp: this header is all a caller sees.
//
// The span is a CLIENT span: its attributes describe regtrace's request to the registry (url.full,
// server.address), the shape the HTTP semantic conventions give an outgoing request. A client that
// sent a W3C `traceparent` (relayed to the registry unchanged) is the span's parent.

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace regtrace::capture::otlp {

using trace_id = std::array<std::uint8_t, 16>;
using span_id = std::array<std::uint8_t, 8>;

/// A W3C trace context (traceparent, https://www.w3.org/TR/trace-context/#traceparent-header).
struct trace_parent {
  trace_id trace{};
  span_id parent{};
  std::uint8_t flags = 0;  ///< trace-flags (bit 0: sampled)
  bool operator==(trace_parent const&) const = default;
};

/// Parses a traceparent value strictly (W3C §3.2): version 00 is exactly 55 characters; a later
/// version may add fields after a '-'; version ff, upper-case hex and all-zero ids are invalid.
std::optional<trace_parent> parse_traceparent(std::string_view value);

/// One attribute value: the OTLP AnyValue kinds regtrace uses.
using attribute_value = std::variant<std::string, std::int64_t, bool, std::vector<std::string>>;
struct attribute {
  std::string key;
  attribute_value value;
  bool operator==(attribute const&) const = default;
};

/// Everything a span says of one exchange, computed on the trace writer's thread and kept until it is
/// sent: small (no bodies, no headers but what the attributes hold).
struct span_facts {
  trace_id trace{};
  span_id span{};
  std::optional<span_id> parent;  ///< from the request's traceparent
  std::string trace_state;        ///< the request's tracestate, with a valid traceparent only
  std::uint32_t flags = 0;        ///< OTLP Span.flags: trace flags and whether the parent is remote
  std::string name;               ///< "GET manifest", "HEAD blob", "CONNECT"
  std::uint64_t start_unix_nano = 0;
  std::uint64_t end_unix_nano = 0;
  std::vector<attribute> attributes;
  bool error = false;          ///< Status ERROR: a failure, or a 4xx/5xx answer (client span rule)
  std::string status_message;  ///< the failure's message, or ""
  std::vector<std::string> finding_ids;
};

/// Fresh ids for a span; the trace id is used only when the request had no valid traceparent.
struct span_ids {
  trace_id trace{};
  span_id span{};
};

/// The span of one finished exchange (already redacted by the trace writer; url.full is redacted
/// again here, so spans leave the machine without secrets even under --no-redact).
span_facts facts_of(exchange const& x, span_ids const& fresh);

/// Who sends the spans: the OTLP Resource (service.name "regtrace", service.version, host.name).
struct resource_info {
  std::string service_version;
  std::string host_name;
};

/// What a finding event says besides its catalog ID, learned from the findings the rules report.
struct finding_note {
  std::string title;
  rules::severity level = rules::severity::error;
};
using finding_notes = std::map<std::string, finding_note, std::less<>>;

/// The serialized ExportTraceServiceRequest (the body of POST /v1/traces, application/x-protobuf):
/// one ResourceSpans, one ScopeSpans ("regtrace"), a span per fact, a span event per finding ID
/// (named by the ID, with its title and severity when notes knows them).
std::string encode_request(std::span<span_facts const> spans, resource_info const& resource,
                           finding_notes const& notes);

/// The rejected_spans of a serialized ExportTraceServiceResponse (OTLP partial success); 0 when the
/// body is empty or not one.
std::int64_t rejected_spans(std::string_view response_body);

}  // namespace regtrace::capture::otlp
