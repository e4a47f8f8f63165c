// Catalog on hand-written exchanges that stopped before their end: a client that gave up
// while the registry was silent, a body cut or stalled on either leg or left by the client, and the
// near misses (regtrace's own stop, a slow upload, a late but complete answer) that must read otherwise.
#include "capture/model/failure.hpp"
#include "capture/rules/rules.hpp"
#include "tests/support/exchanges.hpp"
#include "tests/support/findings.hpp"
#include "tests/support/registry_traces.hpp"

#include <boost/system/errc.hpp>
#include <catch2/catch.hpp>

namespace regtrace::capture::test {
namespace {

using Catch::Contains;
using rules::diagnose;
using rules::severity;
using ids = std::vector<std::size_t>;

std::string const blob_target = "/v2/app/blobs/" + digest('a');

exchange with_agent(exchange x, std::string agent) {
  x.request_headers.push_back({"User-Agent", std::move(agent)});
  return x;
}

// A request regtrace relayed and the client gave up on before any answer came (status 0).
exchange abandoned(std::string method, std::string target, phase where, double waited_ms,
                   std::string agent = docker_ua) {
  auto x = with_agent(registry_exchange(std::move(method), std::move(target), 0), std::move(agent));
  x.started = trace_time();
  x.timings.send = 1;
  x.timings.wait = where == phase::response_relay ? waited_ms : 0;
  if (where != phase::response_relay) x.timings.connect = waited_ms;
  x.failure = make_failure(where, make_error_code(errc::client_abandoned), "the client closed its connection",
                           failing_peer::client);
  return x;
}

// A 200 whose body relay stopped after `bytes` of `length`, the failure as the relay records it.
exchange cut_download(std::uint64_t bytes, std::uint64_t length, boost::system::error_code ec,
                      failing_peer peer, std::string agent = docker_ua) {
  auto x = with_agent(registry_exchange("GET", blob_target, 200), std::move(agent));
  x.started = trace_time();
  x.response_headers = registry_headers({{"Content-Length", std::to_string(length)}});
  x.response_body.bytes = bytes;
  x.response_body.complete = false;
  x.failure = make_failure(phase::response_relay, ec,
                           peer == failing_peer::upstream ? "reading the response body from the upstream"
                                                          : "writing the response to the client",
                           peer);
  return x;
}

// Beast's error::timeout as the trace records it (category "boost.beast", value 1): the relay's idle
// timer. Built by hand so the capture tests need no Beast.
failure_record beast_timeout(phase where, std::string detail, failing_peer peer) {
  auto f = make_failure(where, make_error_code(errc::upstream_timeout), std::move(detail), peer);
  f.code_category = "boost.beast";
  f.code_value = 1;
  f.message = "The socket was closed due to a timeout";
  return f;
}

boost::system::error_code reset() {
  return boost::system::errc::make_error_code(boost::system::errc::connection_reset);
}

}  // namespace

TEST_CASE("A-07: the client gave up waiting for the response head; the timer it matches is named",
          "[rules][transport][A-07]") {
  SECTION("dockerd's 15 s ping timer") {
    std::vector<exchange> trace{abandoned("GET", "/v2/", phase::response_relay, 14'990)};
    auto found = with_id(diagnose(trace), "A-07");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::error);
    CHECK(evidence_entries(found[0]) == ids{0});
    CHECK_THAT(found[0].explanation, Contains("15.0 s") && Contains("no answer ever came") &&
                                         Contains("Go's 15 s client timeout") &&
                                         Contains("waiting for the response head"));
    CHECK(found[0].client_error ==
          "context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
    CHECK(found[0].client_error.find("502") == std::string::npos);
  }
  SECTION("containerd 2.3's 30 s response-header timer on a manifest") {
    std::vector<exchange> trace{
        abandoned("HEAD", "/v2/app/manifests/v1", phase::response_relay, 29'800, "containerd/2.3.0")};
    auto found = with_id(diagnose(trace), "A-07");
    REQUIRE(found.size() == 1);
    CHECK_THAT(found[0].explanation, Contains("30 s response-header timeout"));
    CHECK(found[0].client_error == "net/http: timeout awaiting response headers");
  }
  SECTION("curl --max-time, and a client still waiting for regtrace's TCP connect") {
    std::vector<exchange> trace{abandoned("GET", "/v2/", phase::upstream_connect, 5'000, curl_ua)};
    auto all = diagnose(trace);
    auto found = with_id(all, "A-07");
    REQUIRE(found.size() == 1);
    CHECK_THAT(found[0].explanation, Contains("connecting to registry.test") && Contains("--max-time"));
    CHECK_THAT(found[0].client_error, Contains("curl: (28) Operation timed out"));
    CHECK(with_id(all, "A-08").empty());  // the connect was not refused: the client left first
  }
  SECTION("no finding at all for an exchange regtrace's own stop cut short") {
    auto stopped = abandoned("GET", "/v2/app/manifests/v1", phase::response_relay, 45'000);
    stopped.failure = make_failure(phase::response_relay, make_error_code(errc::proxy_stopped), "Ctrl-C");
    std::vector<exchange> trace{stopped};
    CHECK(at_or_above(diagnose(trace), severity::warning).empty());
  }
}

TEST_CASE("A-07 is no slow upload: a client trickling its body is A-14 with the client as the slow side",
          "[rules][transport][A-07][A-14]") {
  auto upload = with_agent(registry_exchange("PATCH", "/v2/app/blobs/uploads/u1", 0), docker_ua);
  upload.started = trace_time();
  upload.request_headers.push_back({"Content-Length", "1048576"});
  upload.request_body.bytes = 12;
  upload.request_body.complete = false;
  upload.timings.send = 60'000;  // one byte per five seconds
  upload.failure =
      beast_timeout(phase::request_relay, "reading the request body from the client", failing_peer::client);
  std::vector<exchange> trace{upload};
  auto all = diagnose(trace);
  CHECK(with_id(all, "A-07").empty());
  auto found = with_id(all, "A-14");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK_THAT(found[0].explanation, Contains("request body (upload)") && Contains("12 bytes") &&
                                       Contains("1048576") && Contains("The slow side was the client"));
}

TEST_CASE("A-14: a body the upstream cut or let stall; a retry that completes makes it a WARNING",
          "[rules][transport][A-14]") {
  SECTION("reset mid-body, curl's words") {
    std::vector<exchange> trace{cut_download(102'400, 1'000'000, reset(), failing_peer::upstream, curl_ua)};
    auto found = with_id(diagnose(trace), "A-14");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::error);
    CHECK(evidence_entries(found[0]) == ids{0});
    CHECK_THAT(found[0].explanation, Contains("102400 bytes") && Contains("1000000") &&
                                         Contains("closed or reset the connection") && Contains("registry"));
    CHECK(found[0].client_error == "curl: (18) transfer closed with 897600 bytes remaining to read");
  }
  SECTION("stalled until regtrace's idle timeout, then retried with Range and completed") {
    auto stalled = cut_download(4096, 8192, reset(), failing_peer::upstream);
    stalled.failure = beast_timeout(phase::response_relay, "reading the response body from the upstream",
                                    failing_peer::upstream);
    auto resumed = with_agent(registry_exchange("GET", blob_target, 206), docker_ua);
    resumed.request_headers.push_back({"Range", "bytes=4096-"});
    resumed.response_headers = registry_headers({{"Content-Range", "bytes 4096-8191/8192"}});
    auto trace = sequence({stalled, resumed});
    auto found = with_id(diagnose(trace), "A-14");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::warning);
    CHECK(evidence_entries(found[0]) == ids{0, 1});
    CHECK_THAT(found[0].explanation, Contains("moved no byte for regtrace's idle timeout") &&
                                         Contains("Recovered: the client retried and #2 succeeded"));
    CHECK(found[0].client_error == "unexpected EOF (Docker: \"Download failed, retrying\")");
  }
  SECTION("the client left mid-body: an ERROR that says the client closed first") {
    auto left = cut_download(1 << 20, 50 << 20, make_error_code(errc::client_abandoned), failing_peer::client,
                             containerd_ua);
    std::vector<exchange> trace{left};
    auto found = with_id(diagnose(trace), "A-14");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::error);
    CHECK_THAT(found[0].explanation,
               Contains("the client closed its connection first") && Contains("no-progress timeout"));
    CHECK_THAT(found[0].client_error, Contains("context canceled"));
  }
}

TEST_CASE(
    "A-14: the client left while regtrace still sent its whole upload to a registry that did not take it",
    "[rules][transport][A-14]") {
  auto upload =
      with_agent(registry_exchange("PUT", "/v2/app/blobs/uploads/u1?digest=" + digest('a'), 0), docker_ua);
  upload.request_headers.push_back({"Content-Length", "4096"});
  upload.request_body.bytes = 4096;  // all of it read from the client
  upload.failure = make_failure(phase::request_relay, make_error_code(errc::client_abandoned),
                                "sending the request body upstream", failing_peer::client);
  std::vector<exchange> trace{upload};
  auto found = with_id(diagnose(trace), "A-14");
  REQUIRE(found.size() == 1);
  CHECK_THAT(found[0].explanation,
             Contains("request body (upload)") && Contains("closed its connection first"));
  CHECK(with_id(diagnose(trace), "A-07").empty());
}

TEST_CASE("A-14 near misses: complete bodies, answered uploads, HEAD, regtrace's stop",
          "[rules][transport][A-14]") {
  auto complete = registry_exchange("GET", blob_target, 200);
  complete.response_headers = registry_headers({{"Content-Length", "10"}});
  complete.response_body.bytes = 10;

  // An ingress answered 413 before taking the whole upload: A-13's, not a cut.
  auto refused = registry_exchange("PATCH", "/v2/app/blobs/uploads/u1", 413);
  refused.request_body.bytes = 1 << 20;
  refused.request_body.complete = false;
  refused.failure = make_failure(phase::request_relay, reset(), "sending the request body upstream",
                                 failing_peer::upstream);

  auto stopped = cut_download(100, 1000, make_error_code(errc::proxy_stopped), failing_peer::unknown);
  auto head = cut_download(0, 1000, reset(), failing_peer::upstream);
  head.method = "HEAD";

  std::vector<exchange> trace{complete, refused, stopped, head};
  CHECK(with_id(diagnose(trace), "A-14").empty());
  CHECK(with_id(diagnose(trace), "A-07").empty());
}

TEST_CASE("A-07 on a late answer stays A-07, not also A-14", "[rules][transport][A-07][A-14]") {
  // The registry answered after 17 s; dockerd had gone at 15 s, so writing the head failed.
  auto late = cut_download(0, 2, make_error_code(boost::system::errc::broken_pipe), failing_peer::client);
  late.target = "/v2/";
  late.timings.wait = 17'000;
  std::vector<exchange> trace{late};
  auto all = diagnose(trace);
  CHECK(with_id(all, "A-07").size() == 1);
  CHECK(with_id(all, "A-14").empty());
}

}  // namespace regtrace::capture::test
