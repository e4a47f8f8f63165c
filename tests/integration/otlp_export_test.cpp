// OTLP span export (issue 15) over loopback: a real regtrace server sends a span per exchange to an
// in-process OTLP receiver that decodes with the generated classes; the exporter's retries (only 429,
// 502, 503, 504, after Retry-After) and drops, counted, against scripted collector answers.
#include "tests/support/world.hpp"

#include "proxy/upstream/otlp_exporter.hpp"
#include "tests/support/loopback_listener.hpp"
#include "tests/support/otlp_receiver.hpp"

#include "opentelemetry/proto/trace/v1/trace.pb.h"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <map>

using namespace regtrace;
using namespace regtrace::test;
namespace wire = opentelemetry::proto::trace::v1;

namespace {

constexpr char trace_hex[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char parent_hex[] = "00f067aa0ba902b7";

std::string hex(std::string const& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

// key -> value as text, for the string and integer attributes.
std::map<std::string, std::string> attributes_of(wire::Span const& span) {
  std::map<std::string, std::string> out;
  for (auto const& kv : span.attributes()) {
    if (kv.value().has_string_value()) out[kv.key()] = kv.value().string_value();
    if (kv.value().has_int_value()) out[kv.key()] = std::to_string(kv.value().int_value());
  }
  return out;
}

wire::Span const& span_named(std::vector<wire::Span> const& spans, std::string const& name) {
  auto found = std::find_if(spans.begin(), spans.end(), [&](auto const& s) { return s.name() == name; });
  REQUIRE(found != spans.end());
  return *found;
}

// An exporter of its own (not a server's) to the receiver, batching every 20 ms.
std::unique_ptr<proxy::otlp_exporter> exporter_to(std::string const& endpoint,
                                                  std::string const& logger_name) {
  proxy::otlp_exporter_options options;
  options.endpoint = proxy::parse_otlp_endpoint(endpoint);
  options.batch_interval = std::chrono::milliseconds(20);
  options.host_name = "node-1";
  auto log = spdlog::get(logger_name);
  if (!log) log = spdlog::null_logger_mt(logger_name);
  return std::make_unique<proxy::otlp_exporter>(std::move(options), log);
}

capture::exchange manifest_get(int status) {
  capture::exchange x;
  x.method = "GET";
  x.host = "registry.test";
  x.target = "/v2/team/app/manifests/v1";
  x.status = status;
  x.started = std::chrono::system_clock::now();
  return x;
}

}  // namespace

TEST_CASE("otlp: each exchange through regtrace arrives as one span with its attributes and parent") {
  otlp_receiver receiver;
  std::vector<capture::exchange> entries;
  std::uint16_t upstream_port = 0;
  {
    world w([&](proxy::proxy_config& config) { config.otlp_endpoint = receiver.endpoint(); });
    upstream_port = w.upstream.port();
    auto client = w.tunnel();
    auto const blob = client->request(
        "GET", "/blob/1000", {{"traceparent", std::string("00-") + trace_hex + "-" + parent_hex + "-01"}});
    REQUIRE(blob.status == 200);
    REQUIRE(client->request("GET", "/v2/team/app/manifests/v1").status == 404);
    entries = w.proxy.stop_and_read();  // stop(): the trace closes, then the queued spans are sent
  }
  REQUIRE(receiver.wait_for_requests(1));
  for (auto const& r : receiver.requests()) {
    CHECK(r.method == "POST");
    CHECK(r.target == "/v1/traces");
    CHECK(r.content_type == "application/x-protobuf");
    CHECK(r.decoded);
  }
  auto const spans = receiver.spans();
  REQUIRE(spans.size() == entries.size());

  auto const& blob = span_named(spans, "GET");
  CHECK(blob.kind() == wire::Span::SPAN_KIND_CLIENT);
  CHECK(hex(blob.trace_id()) == trace_hex);
  CHECK(hex(blob.parent_span_id()) == parent_hex);
  CHECK(blob.status().code() == wire::Status::STATUS_CODE_UNSET);
  auto const a = attributes_of(blob);
  CHECK(a.at("http.request.method") == "GET");
  CHECK(a.at("url.full") == "https://registry.test:" + std::to_string(upstream_port) + "/blob/1000");
  CHECK(a.at("server.address") == "registry.test");
  CHECK(a.at("server.port") == std::to_string(upstream_port));
  CHECK(a.at("http.response.status_code") == "200");
  CHECK(a.at("network.protocol.version") == "1.1");
  CHECK(a.count("tls.protocol.version"));
  CHECK(a.at("regtrace.response.body.sha256") == pattern_sha256(1000));

  auto const& missing = span_named(spans, "GET manifest");
  CHECK(missing.parent_span_id().empty());
  CHECK(hex(missing.trace_id()) != trace_hex);
  CHECK(missing.status().code() == wire::Status::STATUS_CODE_ERROR);
  CHECK(attributes_of(missing).at("error.type") == "404");
  CHECK(attributes_of(missing).at("regtrace.repository") == "team/app");
}

TEST_CASE("otlp: a collector that cannot be reached does not disturb the relay") {
  auto const nowhere = "http://127.0.0.1:" + std::to_string(closed_port());
  world w([&](proxy::proxy_config& config) { config.otlp_endpoint = nowhere; });
  auto client = w.tunnel();
  for (int i = 0; i < 3; ++i) CHECK(client->request("GET", "/blob/100").status == 200);
  CHECK(w.proxy.stop_and_read().size() == 3);
}

TEST_CASE("otlp exporter: 503 with Retry-After 1, then 200: the batch is delivered once, after the wait") {
  otlp_receiver receiver({{.status = 503, .retry_after = "1"}});
  auto exporter = exporter_to(receiver.endpoint(), "otlp-retry-test");
  exporter->submit(manifest_get(200));
  exporter->start();
  REQUIRE(receiver.wait_for_requests(2));
  exporter->stop();
  auto const requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].answered == 503);
  CHECK(requests[1].answered == 200);
  CHECK(requests[0].spans == 1);
  CHECK(requests[1].spans == 1);
  CHECK(requests[1].at - requests[0].at >= std::chrono::milliseconds(900));  // Retry-After was honoured
  CHECK(receiver.spans().size() == 1);
  auto const stats = exporter->stats();
  CHECK(stats.exported == 1);
  CHECK(stats.requests == 2);
  CHECK(stats.failed_requests == 1);
  CHECK(stats.dropped == 0);
}

TEST_CASE("otlp exporter: 400 is not retried; its spans are counted as dropped") {
  otlp_receiver receiver({{.status = 400, .retry_after = "1"}});
  auto exporter = exporter_to(receiver.endpoint(), "otlp-refused-test");
  exporter->submit(manifest_get(200));
  exporter->submit(manifest_get(404));
  exporter->start();
  REQUIRE(receiver.wait_for_requests(1));
  exporter->stop();
  CHECK(receiver.requests().size() == 1);
  auto const stats = exporter->stats();
  CHECK(stats.requests == 1);
  CHECK(stats.exported == 0);
  CHECK(stats.dropped_refused == 2);
  CHECK(stats.dropped == 2);
}

TEST_CASE("otlp exporter: retries stop after max_attempts; a full queue drops what does not fit") {
  otlp_receiver receiver({{.status = 429, .retry_after = "0"},
                          {.status = 502, .retry_after = ""},
                          {.status = 504, .retry_after = ""}});
  proxy::otlp_exporter_options options;
  options.endpoint = proxy::parse_otlp_endpoint(receiver.endpoint());
  options.batch_interval = std::chrono::milliseconds(20);
  options.max_attempts = 2;
  options.max_retry_delay = std::chrono::seconds(0);
  options.queue_capacity = 2;
  proxy::otlp_exporter exporter(options, spdlog::null_logger_mt("otlp-attempts-test"));
  for (int i = 0; i < 3; ++i) exporter.submit(manifest_get(200));
  exporter.start();
  REQUIRE(receiver.wait_for_requests(2));
  exporter.stop();
  auto const stats = exporter.stats();
  CHECK(stats.dropped_queue_full == 1);
  CHECK(stats.requests == 2);  // 429, then 502: two attempts, the last one
  CHECK(stats.dropped_refused == 2);
  CHECK(stats.exported == 0);
  CHECK(receiver.requests().size() == 2);
}
