// exchange_metrics (issue 15): hand-written exchanges and findings in, Prometheus text exposition out.

#include "capture/export/metrics.hpp"
#include "tests/support/exchanges.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <sstream>

using namespace regtrace::capture;

namespace {

// The value of the sample whose name and labels are exactly series (labels in name order, as the
// exposition writes them); nullopt when the exposition has no such line.
std::optional<double> sample(std::string const& exposition, std::string const& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

exchange answered(std::string method, std::string host, std::string target, int status, std::uint64_t down,
                  double wait_ms) {
  auto x = test::exchange_to(std::move(method), std::move(host), std::move(target), status);
  x.request_body.bytes = 0;
  x.response_body.bytes = down;
  x.timings.wait = wait_ms;
  return x;
}

rules::finding finding_of(std::string id, rules::severity level, std::string cause,
                          std::vector<std::size_t> seen_on) {
  rules::finding f;
  f.id = std::move(id);
  f.level = level;
  f.cause = std::move(cause);
  f.seen_on = std::move(seen_on);
  return f;
}

}  // namespace

TEST_CASE("exchanges are counted by host, method, status class and request kind", "[capture][metrics]") {
  exchange_metrics metrics;
  metrics.observe(answered("GET", "registry.test", "/v2/app/manifests/v1", 200, 1500, 20));
  metrics.observe(answered("GET", "Registry.Test", "/v2/app/manifests/v2", 201, 500, 30));
  metrics.observe(answered("HEAD", "registry.test", "/v2/app/blobs/sha256:abc", 404, 0, 3));
  auto upload = answered("PUT", "registry.test", "/v2/app/blobs/uploads/u1?digest=sha256:abc", 0, 0, 7000);
  upload.request_body.bytes = 4096;
  metrics.observe(upload);

  auto const text = metrics.exposition();
  CHECK(
      sample(
          text,
          R"(regtrace_exchanges_total{host="registry.test",kind="manifest",method="GET",status_class="2xx"})") ==
      2);
  CHECK(
      sample(
          text,
          R"(regtrace_exchanges_total{host="registry.test",kind="blob",method="HEAD",status_class="4xx"})") ==
      1);
  CHECK(
      sample(
          text,
          R"(regtrace_exchanges_total{host="registry.test",kind="upload",method="PUT",status_class="none"})") ==
      1);
  CHECK(sample(text, R"(regtrace_response_bytes_total{host="registry.test"})") == 2000);
  CHECK(sample(text, R"(regtrace_request_bytes_total{host="registry.test"})") == 4096);
  CHECK(text.find("# TYPE regtrace_exchanges_total counter") != std::string::npos);
  CHECK(text.find("# TYPE regtrace_request_duration_seconds histogram") != std::string::npos);
}

TEST_CASE("request durations fall into buckets from milliseconds to minutes", "[capture][metrics]") {
  exchange_metrics metrics;
  metrics.observe(answered("HEAD", "registry.test", "/v2/app/manifests/v1", 200, 0, 3));          // 3 ms
  metrics.observe(answered("GET", "registry.test", "/v2/app/manifests/v1", 200, 0, 400));         // 0.4 s
  metrics.observe(answered("GET", "registry.test", "/v2/app/manifests/v1", 200, 0, 200 * 1000));  // 200 s

  auto const text = metrics.exposition();
  std::string const series =
      R"(regtrace_request_duration_seconds_bucket{host="registry.test",kind="manifest",le=")";
  CHECK(sample(text, series + R"(0.005"})") == 1);
  CHECK(sample(text, series + R"(0.5"})") == 2);
  CHECK(sample(text, series + R"(120"})") == 2);
  CHECK(sample(text, series + R"(300"})") == 3);
  CHECK(sample(text, series + R"(+Inf"})") == 3);
  CHECK(sample(text, R"(regtrace_request_duration_seconds_count{host="registry.test",kind="manifest"})") ==
        3);
  auto const sum =
      sample(text, R"(regtrace_request_duration_seconds_sum{host="registry.test",kind="manifest"})");
  REQUIRE(sum);
  CHECK(*sum == Approx(200.403));
}

TEST_CASE("a client's refused handshake is a TLS failure by reason, and an entry kind of its own",
          "[capture][metrics]") {
  exchange_metrics metrics;
  auto rejected = test::exchange_to("CONNECT", "registry.test", "registry.test:443");
  rejected.kind = entry_kind::client_tls_rejected;
  rejected.failure = make_failure(phase::client_tls, errc::client_rejected_certificate, "alert unknown ca");
  metrics.observe(rejected);
  auto old_tls = rejected;
  old_tls.failure = make_failure(phase::client_tls, errc::tls_version_too_low, "TLS 1.0 offered");
  metrics.observe(old_tls);
  auto stopped = rejected;  // regtrace stopped during the handshake: the client failed nothing
  stopped.failure = make_failure(phase::client_tls, errc::proxy_stopped, "stopping");
  metrics.observe(stopped);
  auto upstream = answered("GET", "registry.test", "/v2/", 0, 0, 1);
  upstream.failure = make_failure(phase::upstream_tls, errc::upstream_unverified, "unknown issuer");
  metrics.observe(upstream);

  auto const text = metrics.exposition();
  CHECK(sample(text,
               R"(regtrace_client_tls_failures_total{host="registry.test",reason="rejected_certificate"})") ==
        1);
  CHECK(sample(text,
               R"(regtrace_client_tls_failures_total{host="registry.test",reason="protocol_version"})") == 1);
  CHECK(text.find(R"(reason="handshake_failed")") == std::string::npos);
  CHECK(
      sample(
          text,
          R"(regtrace_exchanges_total{host="registry.test",kind="client_tls_rejected",method="CONNECT",status_class="none"})") ==
      3);
  CHECK(
      sample(
          text,
          R"(regtrace_exchanges_total{host="registry.test",kind="ping",method="GET",status_class="none"})") ==
      1);
}

TEST_CASE("label values are escaped, valid UTF-8, and bounded in number", "[capture][metrics]") {
  exchange_metrics metrics({}, {.max_hosts = 2});
  metrics.observe(answered("GET", "we\"ird\\host\nx", "/v2/", 200, 0, 1));
  metrics.observe(answered("GET", "bad\xffhost", "/v2/", 200, 0, 1));
  metrics.observe(answered("GET", "third.test", "/v2/", 200, 0, 1));
  metrics.observe(answered("BREW", "third.test", "/v2/", 200, 0, 1));

  auto const text = metrics.exposition();
  CHECK(
      sample(
          text,
          R"(regtrace_exchanges_total{host="we\"ird\\host\nx",kind="ping",method="GET",status_class="2xx"})") ==
      1);
  CHECK(sample(text,
               "regtrace_exchanges_total{host=\"bad\xEF\xBF\xBDhost\",kind=\"ping\",method=\"GET\",status_"
               "class=\"2xx\"}") == 1);
  CHECK(sample(text,
               R"(regtrace_exchanges_total{host="other",kind="ping",method="GET",status_class="2xx"})") == 1);
  CHECK(sample(text,
               R"(regtrace_exchanges_total{host="other",kind="ping",method="other",status_class="2xx"})") ==
        1);
  CHECK(text.find("third.test") == std::string::npos);
}

TEST_CASE("findings are counted by catalog ID and severity, once per request that showed them",
          "[capture][metrics]") {
  exchange_metrics metrics;
  metrics.observe_findings({finding_of("C-01", rules::severity::error, "app", {3})});
  // Reported again, as its whole finding so far, when it shows on two more requests.
  metrics.observe_findings({finding_of("C-01", rules::severity::error, "app", {3, 5, 6})});
  // Reported again without a new request (its explanation changed): nothing to add.
  metrics.observe_findings({finding_of("C-01", rules::severity::error, "app", {3, 5, 6})});
  // Another cause of the same ID, and another ID and severity.
  metrics.observe_findings({finding_of("C-01", rules::severity::error, "other-repo", {8}),
                            finding_of("B-03", rules::severity::critical, "registry.test", {})});
  // The client recovered: the cause's later requests count under its new severity.
  metrics.observe_findings({finding_of("C-01", rules::severity::warning, "app", {3, 5, 6, 9})});

  auto const text = metrics.exposition();
  CHECK(sample(text, R"(regtrace_findings_total{id="C-01",severity="error"})") == 4);
  CHECK(sample(text, R"(regtrace_findings_total{id="C-01",severity="warning"})") == 1);
  CHECK(sample(text, R"(regtrace_findings_total{id="B-03",severity="critical"})") == 1);
}

TEST_CASE("in-flight exchanges and lost records are read when scraped", "[capture][metrics]") {
  std::uint64_t in_flight = 3;
  std::uint64_t lost = 0;
  exchange_metrics metrics(
      {.exchanges_in_flight = [&] { return in_flight; }, .records_lost = [&] { return lost; }});
  auto text = metrics.exposition();
  CHECK(sample(text, "regtrace_exchanges_in_flight") == 3);
  CHECK(sample(text, "regtrace_trace_records_lost_total") == 0);
  CHECK(text.find("# TYPE regtrace_exchanges_in_flight gauge") != std::string::npos);
  CHECK(text.find("# TYPE regtrace_trace_records_lost_total counter") != std::string::npos);
  in_flight = 0;
  lost = 7;
  text = metrics.exposition();
  CHECK(sample(text, "regtrace_exchanges_in_flight") == 0);
  CHECK(sample(text, "regtrace_trace_records_lost_total") == 7);

  exchange_metrics without_sources;
  CHECK(without_sources.exposition().find("regtrace_exchanges_in_flight") == std::string::npos);
}
