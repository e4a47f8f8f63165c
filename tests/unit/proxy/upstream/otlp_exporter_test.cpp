// otlp_exporter without sockets: --otlp-endpoint's parsing, and the queue's bound (an exporter that
// was never started sends nothing, so what it keeps and drops is exact).

#include "proxy/upstream/otlp_exporter.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include <stdexcept>

using namespace regtrace::proxy;

TEST_CASE("otlp endpoint: http://HOST:PORT, with /v1/traces unless a path is given") {
  auto const plain = parse_otlp_endpoint("http://127.0.0.1:4318");
  CHECK(plain.host == "127.0.0.1");
  CHECK(plain.port == 4318);
  CHECK(plain.path == "/v1/traces");
  CHECK(parse_otlp_endpoint("http://collector.test:4318/").path == "/v1/traces");
  CHECK(parse_otlp_endpoint("HTTP://[::1]:4318/otlp/v1/traces").path == "/otlp/v1/traces");
  CHECK(display_url(parse_otlp_endpoint("http://[::1]:4318")) == "http://[::1]:4318/v1/traces");
}

TEST_CASE("otlp endpoint: what is refused, with a sentence") {
  auto const refusal = [](std::string const& url) {
    try {
      parse_otlp_endpoint(url);
    } catch (std::invalid_argument const& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(refusal("https://collector.test:4318"), Catch::Contains("supports only http://"));
  CHECK_THAT(refusal("grpc://collector.test:4317"), Catch::Contains("takes an http:// URL"));
  CHECK_THAT(refusal("collector.test:4318"), Catch::Contains("needs a URL"));
  CHECK_THAT(refusal("http://collector.test"), Catch::Contains("add the collector's port"));
  CHECK_THAT(refusal("http://u:p@collector.test:4318"), Catch::Contains("no user, password or query"));
  CHECK_THAT(refusal("http://collector.test:4318/v1/traces?x=1"),
             Catch::Contains("no user, password or query"));
}

TEST_CASE("otlp exporter: a full queue drops spans and counts them; stop counts what was left") {
  otlp_exporter_options options;
  options.endpoint = parse_otlp_endpoint("http://127.0.0.1:9");
  options.queue_capacity = 3;
  options.host_name = "node-1";
  otlp_exporter exporter(options, spdlog::null_logger_mt("otlp-queue-test"));
  regtrace::capture::exchange x;
  x.method = "GET";
  x.host = "registry.test";
  x.target = "/v2/";
  x.status = 200;
  for (int i = 0; i < 5; ++i) exporter.submit(x);
  auto before = exporter.stats();
  CHECK(before.dropped_queue_full == 2);
  CHECK(before.dropped == 2);
  CHECK(before.exported == 0);
  exporter.stop();
  auto const after = exporter.stats();
  CHECK(after.dropped_at_stop == 3);
  CHECK(after.dropped == 5);
  CHECK(after.requests == 0);
  exporter.submit(x);  // after stop: dropped, never queued
  CHECK(exporter.stats().dropped_queue_full == 3);
  spdlog::drop("otlp-queue-test");
}
