// otlp_spans: hand-written exchanges become spans, encoded as an ExportTraceServiceRequest and read
// back with the classes protoc generates from the same .proto files (the e2e test decodes with
// OpenTelemetry's own JavaScript classes, which share nothing with these).

#include "capture/export/otlp_spans.hpp"
#include "tests/support/exchanges.hpp"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

#include <catch2/catch.hpp>

#include <map>

using namespace regtrace::capture;
using namespace regtrace::capture::test;
namespace wire = opentelemetry::proto::trace::v1;

namespace {

constexpr char parent_header[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

otlp::span_ids fixed_ids() {
  otlp::span_ids ids;
  for (std::size_t i = 0; i < ids.trace.size(); ++i) ids.trace[i] = static_cast<std::uint8_t>(0xa0 + i);
  for (std::size_t i = 0; i < ids.span.size(); ++i) ids.span[i] = static_cast<std::uint8_t>(0x10 + i);
  return ids;
}

// Encodes the exchanges and parses the request back: its one ResourceSpans.
wire::ResourceSpans round_trip(std::vector<exchange> const& xs, otlp::finding_notes const& notes = {}) {
  std::vector<otlp::span_facts> facts;
  for (auto const& x : xs) facts.push_back(otlp::facts_of(x, fixed_ids()));
  auto const bytes = otlp::encode_request(facts, {.service_version = "9.9", .host_name = "node-1"}, notes);
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  REQUIRE(request.ParseFromString(bytes));
  REQUIRE(request.resource_spans_size() == 1);
  return request.resource_spans(0);
}

wire::Span one_span(exchange const& x, otlp::finding_notes const& notes = {}) {
  auto const resource = round_trip({x}, notes);
  REQUIRE(resource.scope_spans_size() == 1);
  REQUIRE(resource.scope_spans(0).spans_size() == 1);
  return resource.scope_spans(0).spans(0);
}

// key -> value as text ("GET", "443", "true", "[C-01,B-10]").
template <class Attributes>
std::map<std::string, std::string> attributes_of(Attributes const& list) {
  std::map<std::string, std::string> out;
  for (auto const& kv : list) {
    auto const& v = kv.value();
    std::string text;
    if (v.has_string_value()) text = v.string_value();
    if (v.has_int_value()) text = std::to_string(v.int_value());
    if (v.has_bool_value()) text = v.bool_value() ? "true" : "false";
    if (v.has_array_value()) {
      for (auto const& item : v.array_value().values())
        text += (text.empty() ? "" : ",") + item.string_value();
      text = "[" + text + "]";
    }
    out[kv.key()] = text;
  }
  return out;
}

std::string hex(std::string const& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

exchange blob_get() {
  auto x = registry_exchange("GET", "/v2/team/app/blobs/sha256:" + std::string(64, 'a'), 200);
  x.started = trace_time();
  x.timings = {.send = 1, .wait = 20, .receive = 30};
  x.response_body.bytes = 1024;
  x.response_body.sha256 = std::string(64, 'a');
  x.connection_id = 7;
  x.request_index = 2;
  x.upstream_tls.emplace();
  x.upstream_tls->version = "TLSv1.3";
  x.upstream_tls->cipher = "TLS_AES_128_GCM_SHA256";
  x.upstream_tls->alpn = "http/1.1";
  x.request_headers = {{"User-Agent", "containerd/1.6"}};
  return x;
}

}  // namespace

TEST_CASE("otlp span: the resource and scope say regtrace, its version and the host") {
  auto const resource = round_trip({blob_get()});
  auto const attributes = attributes_of(resource.resource().attributes());
  CHECK(attributes.at("service.name") == "regtrace");
  CHECK(attributes.at("service.version") == "9.9");
  CHECK(attributes.at("host.name") == "node-1");
  CHECK(resource.scope_spans(0).scope().name() == "regtrace");
}

TEST_CASE("otlp span: a blob GET is a CLIENT span named by method and kind, with the HTTP attributes") {
  auto const span = one_span(blob_get());
  CHECK(span.name() == "GET blob");
  CHECK(span.kind() == wire::Span::SPAN_KIND_CLIENT);
  CHECK(hex(span.trace_id()) == "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  CHECK(hex(span.span_id()) == "1011121314151617");
  CHECK(span.parent_span_id().empty());
  auto const start =
      std::chrono::duration_cast<std::chrono::nanoseconds>(trace_time().time_since_epoch()).count();
  CHECK(span.start_time_unix_nano() == static_cast<std::uint64_t>(start));
  CHECK(span.end_time_unix_nano() - span.start_time_unix_nano() == 51'000'000);  // send + wait + receive
  auto const a = attributes_of(span.attributes());
  CHECK(a.at("http.request.method") == "GET");
  CHECK(a.at("url.full") == "https://registry.test:5443/v2/team/app/blobs/sha256:" + std::string(64, 'a'));
  CHECK(a.at("server.address") == "registry.test");
  CHECK(a.at("server.port") == "5443");
  CHECK(a.at("http.response.status_code") == "200");
  CHECK(a.at("network.protocol.version") == "1.1");
  CHECK(a.at("user_agent.original") == "containerd/1.6");
  CHECK(a.at("tls.protocol.name") == "tls");
  CHECK(a.at("tls.protocol.version") == "1.3");
  CHECK(a.at("tls.cipher") == "TLS_AES_128_GCM_SHA256");
  CHECK(a.at("regtrace.request.kind") == "blob");
  CHECK(a.at("regtrace.repository") == "team/app");
  CHECK(a.at("regtrace.digest") == "sha256:" + std::string(64, 'a'));
  CHECK(a.at("regtrace.response.body.sha256") == std::string(64, 'a'));
  CHECK(a.at("regtrace.connection_id") == "7");
  CHECK(a.at("regtrace.request_index") == "2");
  CHECK_FALSE(a.count("error.type"));
  CHECK(span.status().code() == wire::Status::STATUS_CODE_UNSET);
}

TEST_CASE("otlp span: url.full is redacted even when the exchange was not") {
  auto x = make_exchange("GET", "https://storage.test/blob?X-Amz-Signature=s3cr3t&X-Amz-Date=20261127", 200);
  auto const a = attributes_of(one_span(x).attributes());
  CHECK(a.at("url.full").find("s3cr3t") == std::string::npos);
  CHECK(a.at("url.full").find("X-Amz-Date=20261127") != std::string::npos);
}

TEST_CASE("otlp span: a valid traceparent makes the caller's span the parent") {
  auto x = blob_get();
  x.request_headers.push_back({"traceparent", parent_header});
  x.request_headers.push_back({"tracestate", "vendor=1"});
  auto const span = one_span(x);
  CHECK(hex(span.trace_id()) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(hex(span.parent_span_id()) == "00f067aa0ba902b7");
  CHECK(hex(span.span_id()) == "1011121314151617");
  CHECK(span.trace_state() == "vendor=1");
  CHECK(span.flags() == (0x100u | 0x200u | 0x01u));  // remote parent, sampled
}

TEST_CASE("otlp span: an invalid or repeated traceparent is ignored") {
  std::string const bad =
      GENERATE("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",    // upper case
               "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
               "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
               "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 with more
               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",     // short flags
               "004bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",    // dashes misplaced
               "");
  auto x = blob_get();
  x.request_headers.push_back({"traceparent", bad});
  x.request_headers.push_back({"tracestate", "vendor=1"});
  auto const span = one_span(x);
  CHECK(hex(span.trace_id()) == "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  CHECK(span.parent_span_id().empty());
  CHECK(span.trace_state().empty());

  auto twice = blob_get();
  twice.request_headers.push_back({"traceparent", parent_header});
  twice.request_headers.push_back({"Traceparent", parent_header});
  CHECK(one_span(twice).parent_span_id().empty());
}

TEST_CASE("otlp traceparent: a later version may carry more fields after a dash") {
  auto const parsed = otlp::parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what");
  REQUIRE(parsed);
  CHECK(parsed->flags == 0);
  CHECK_FALSE(otlp::parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00what"));
}

TEST_CASE("otlp span: 4xx and 5xx answers are errors named by their code (client spans)") {
  int const status = GENERATE(401, 404, 503);
  auto const span = one_span(registry_exchange("GET", "/v2/team/app/manifests/v1", status));
  CHECK(span.name() == "GET manifest");
  CHECK(span.status().code() == wire::Status::STATUS_CODE_ERROR);
  CHECK(attributes_of(span.attributes()).at("error.type") == std::to_string(status));
}

TEST_CASE("otlp span: a failure is an error named by its phase, with its message") {
  auto x = registry_exchange("HEAD", "/v2/team/app/manifests/v1", 0);
  x.failure = make_failure(phase::upstream_tls, make_error_code(errc::upstream_unverified), "verifying");
  auto const span = one_span(x);
  CHECK(span.name() == "HEAD manifest");
  CHECK(span.status().code() == wire::Status::STATUS_CODE_ERROR);
  CHECK(span.status().message() == x.failure->message);
  auto const a = attributes_of(span.attributes());
  CHECK(a.at("error.type") == "upstream_tls");
  CHECK_FALSE(a.count("http.response.status_code"));
}

TEST_CASE("otlp span: findings are span events with their title and severity when known") {
  auto x = registry_exchange("GET", "/v2/team/app/manifests/v1", 404);
  x.finding_ids = {"C-01", "X-99"};
  otlp::finding_notes notes{{"C-01", {.title = "No such manifest", .level = rules::severity::error}}};
  auto const span = one_span(x, notes);
  CHECK(attributes_of(span.attributes()).at("regtrace.finding_ids") == "[C-01,X-99]");
  REQUIRE(span.events_size() == 2);
  CHECK(span.events(0).name() == "C-01");
  CHECK(span.events(0).time_unix_nano() == span.end_time_unix_nano());
  auto const known = attributes_of(span.events(0).attributes());
  CHECK(known.at("regtrace.finding.title") == "No such manifest");
  CHECK(known.at("regtrace.finding.severity") == "error");
  CHECK(span.events(1).name() == "X-99");
  CHECK_FALSE(attributes_of(span.events(1).attributes()).count("regtrace.finding.title"));
}

TEST_CASE("otlp span: an unknown method is _OTHER with the original kept; a tunnel is CONNECT") {
  auto const a = attributes_of(one_span(registry_exchange("PROPFIND", "/x", 405)).attributes());
  CHECK(a.at("http.request.method") == "_OTHER");
  CHECK(a.at("http.request.method_original") == "PROPFIND");

  auto tunnel = exchange_to("CONNECT", "other.test", "other.test:443", 200);
  tunnel.kind = entry_kind::tunnel;
  auto const span = one_span(tunnel);
  CHECK(span.name() == "CONNECT");
  CHECK(span.status().code() == wire::Status::STATUS_CODE_UNSET);
}

TEST_CASE("otlp response: rejected_spans of a partial success, 0 for anything else") {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse response;
  response.mutable_partial_success()->set_rejected_spans(3);
  CHECK(otlp::rejected_spans(response.SerializeAsString()) == 3);
  CHECK(otlp::rejected_spans("") == 0);
  CHECK(otlp::rejected_spans("\xff\xff not protobuf") == 0);
}
