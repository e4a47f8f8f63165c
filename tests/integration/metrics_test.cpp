// --metrics (issue 15): a real proxy on port 0 counts what it relays and serves it on /metrics over
// loopback; other paths and methods are refused; a remote address needs --allow-remote.
#include "tests/support/world.hpp"

#include <optional>
#include <sstream>
#include <thread>

using namespace regtrace;
using namespace regtrace::test;

namespace {

void serve_metrics(proxy::proxy_config& config) {
  config.metrics_host = "127.0.0.1";
  config.metrics_port = 0;
}

// One GET /metrics on its own connection; the whole answer, head and body.
std::string scrape(std::uint16_t port) {
  proxy_client client(port);
  return client.raw_exchange("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

// The value of the sample named exactly series (name and labels), or nullopt.
std::optional<double> sample(std::string const& answer, std::string const& series) {
  std::istringstream lines(answer);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// Scrapes until series has the value wanted: the trace writer counts a record just after writing it,
// so a scrape right after the trace shows it may be early. Bounded only so that a broken count ends
// the test; returns the last answer.
std::string scrape_until(std::uint16_t port, std::string const& series, double wanted) {
  std::string answer;
  for (int tries = 0; tries < 3000; ++tries) {
    answer = scrape(port);
    if (sample(answer, series) == wanted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return answer;
}

}  // namespace

TEST_CASE("exchanges through the proxy are counted on /metrics", "[metrics]") {
  world w(serve_metrics);
  REQUIRE(w.proxy.metrics_port() != 0);
  auto const host = "host=\"" + w.authority() + "\"";
  {
    auto client = w.tunnel();
    CHECK(client->request("GET", "/blob/1000").status == 200);
    CHECK(client->request("GET", "/v2/app/manifests/v1").status == 404);
    CHECK(client->request("HEAD", "/v2/app/manifests/v2").status == 404);
  }
  auto const entries = wait_for_trace_entries(w.proxy.har_file(), 3);
  REQUIRE(entries.size() == 3);

  auto const manifests =
      "regtrace_exchanges_total{" + host + ",kind=\"manifest\",method=\"GET\",status_class=\"4xx\"}";
  auto const answer = scrape_until(w.proxy.metrics_port(), manifests, 1);
  CHECK(answer.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(answer.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
  CHECK(sample(answer, manifests) == 1);
  CHECK(sample(answer, "regtrace_exchanges_total{" + host +
                           ",kind=\"manifest\",method=\"HEAD\",status_class=\"4xx\"}") == 1);
  CHECK(sample(answer, "regtrace_exchanges_total{" + host +
                           ",kind=\"other\",method=\"GET\",status_class=\"2xx\"}") == 1);
  auto const received = sample(answer, "regtrace_response_bytes_total{" + host + "}");
  REQUIRE(received);
  CHECK(*received >= 1000);
  CHECK(sample(answer, "regtrace_request_duration_seconds_count{" + host + ",kind=\"manifest\"}") == 2);
  CHECK(sample(answer, "regtrace_trace_records_lost_total") == 0);
  // Every finding the trace names on an entry is counted under its ID.
  for (auto const& x : entries)
    for (auto const& id : x.finding_ids)
      CHECK(answer.find("regtrace_findings_total{id=\"" + id + "\",") != std::string::npos);
}

TEST_CASE("an exchange waiting on its registry is in flight until it ends", "[metrics]") {
  world w(serve_metrics);
  auto client = w.tunnel();
  client->send_only("GET", "/silent");
  auto answer = scrape_until(w.proxy.metrics_port(), "regtrace_exchanges_in_flight", 1);
  CHECK(sample(answer, "regtrace_exchanges_in_flight") == 1);
  client.reset();  // the client gives up: the exchange ends and is written
  answer = scrape_until(w.proxy.metrics_port(), "regtrace_exchanges_in_flight", 0);
  CHECK(sample(answer, "regtrace_exchanges_in_flight") == 0);
}

TEST_CASE("a client that rejects regtrace's certificate is a client TLS failure", "[metrics]") {
  world w(serve_metrics);
  proxy_client client(w.proxy.port());
  REQUIRE(client.send_connect(w.authority()) == 200);
  CHECK(client.handshake("registry.test", w.pki.ca_file) != "");  // trusts the registry's CA, not regtrace's
  auto const series =
      "regtrace_client_tls_failures_total{host=\"" + w.authority() + "\",reason=\"rejected_certificate\"}";
  CHECK(sample(scrape_until(w.proxy.metrics_port(), series, 1), series) == 1);
}

TEST_CASE("/metrics answers HEAD, refuses other methods and paths, and keeps the connection alive",
          "[metrics]") {
  world w(serve_metrics);
  proxy_client idle(w.proxy.metrics_port());  // a scraper's kept-alive connection, open when regtrace stops
  idle.send_raw("GET /metr");

  proxy_client client(w.proxy.metrics_port());
  auto const answer = client.raw_exchange(
      "HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
      "GET /other HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  auto const head = answer.find("HTTP/1.1 200 OK\r\n");
  auto const post = answer.find("HTTP/1.1 405 Method Not Allowed\r\n");
  auto const other = answer.find("HTTP/1.1 404 Not Found\r\n");
  REQUIRE(head == 0);
  REQUIRE(post != std::string::npos);
  REQUIRE(other != std::string::npos);
  CHECK(post < other);
  auto const head_part = answer.substr(0, post);
  CHECK(head_part.find("\r\nContent-Length: 0\r\n") == std::string::npos);  // a GET's length, no body
  CHECK(head_part.ends_with("\r\n\r\n"));
  CHECK(head_part.find("# TYPE") == std::string::npos);
  CHECK(answer.substr(post, other - post).find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
}

TEST_CASE("/metrics on an address other machines reach needs --allow-remote", "[metrics]") {
  auto remote = [](proxy::proxy_config& config) {
    config.metrics_host = "0.0.0.0";
    config.metrics_port = 0;
  };
  CHECK_THROWS_WITH(proxy_fixture(remote), Catch::Contains("would let other machines read the metrics") &&
                                               Catch::Contains("--allow-remote"));
}
