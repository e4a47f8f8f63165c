// Catalog group A rules on hand-written exchanges: each ID fires on its signature, with its severity
// and evidence, and stays quiet on healthy traffic.
#include "capture/model/failure.hpp"
#include "capture/rules/rules.hpp"
#include "tests/support/exchanges.hpp"
#include "tests/support/findings.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture {
namespace {

using rules::diagnose;
using rules::finding;
using rules::severity;
using test::evidence_entries;
using test::with_id;

exchange request(std::string method, std::string target, int status, std::string host = "registry.test") {
  auto x = test::exchange_to(std::move(method), std::move(host), std::move(target), status);
  x.started = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 56);
  return x;
}

failure_record regtrace_failure(phase where, errc code, std::string detail = {}) {
  return make_failure(where, make_error_code(code), std::move(detail));
}

std::string const blob_digest = "sha256:" + std::string(64, 'a');

}  // namespace

TEST_CASE("A-02: a CONNECT answered 407 by the proxy", "[rules][transport]") {
  auto x = request("CONNECT", "", 407);
  x.kind = entry_kind::connect_failed;
  x.reason = "Proxy Authentication Required";
  x.failure = regtrace_failure(phase::connect_request, errc::proxy_auth_required, "CONNECT registry.test:443");
  std::vector<exchange> trace{x, x};
  auto found = with_id(diagnose(trace), "A-02");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0, 1});
  CHECK_THAT(found[0].explanation, Catch::Contains("407"));
}

TEST_CASE("A-02: regtrace's upstream proxy refuses its CONNECT (a chained set-up), not A-08",
          "[rules][transport]") {
  auto refused = request("GET", "/v2/", 502);
  refused.generated_response = true;
  refused.upstream_proxy = "http://proxy.corp.example:3128";
  refused.failure = regtrace_failure(phase::upstream_connect, errc::upstream_proxy_refused,
                                     "the upstream proxy http://proxy.corp.example:3128 answered CONNECT "
                                     "registry.test:443 with HTTP/1.1 407 "
                                     "Proxy Authentication Required");
  std::vector<exchange> trace{refused};
  auto all = diagnose(trace);
  auto found = with_id(all, "A-02");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Catch::Contains("upstream proxy") && Catch::Contains("407"));
  CHECK_THAT(found[0].remediation, Catch::Contains("--upstream-proxy"));
  CHECK(with_id(all, "A-08").empty());  // the proxy was reached; it said no
}

TEST_CASE("A-01: a TLS ClientHello on regtrace's plain-HTTP port, quoted in hex", "[rules][transport]") {
  auto hello = request("-", "", 400, "127.0.0.1");
  hello.port = 8888;
  hello.scheme = "http";
  hello.generated_response = true;
  hello.unparsed_hex = "16 03 01 02 00 01 00 01 fc 03 03";
  hello.failure = regtrace_failure(phase::connect_request, errc::tls_to_proxy_port, "bad method");
  std::vector<exchange> trace{hello, hello};
  auto all = diagnose(trace);
  auto found = with_id(all, "A-01");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::critical);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0, 1});
  CHECK_THAT(found[0].explanation,
             Catch::Contains("16 03 01 02 00 01 00 01 fc 03 03") && Catch::Contains("Seen on 2 requests"));
  CHECK_THAT(found[0].remediation, Catch::Contains("http://"));
  CHECK(with_id(all, "A-02").empty());
  CHECK(with_id(all, "R-03").empty());
}

TEST_CASE("A-02 is not a CONNECT target without a port: the client's mistake is R-03", "[rules][transport]") {
  auto bad = request("CONNECT", "", 400);
  bad.kind = entry_kind::connect_failed;
  bad.reason = "Bad Request";
  bad.generated_response = true;
  bad.failure = regtrace_failure(phase::connect_request, errc::bad_connect_target, "CONNECT registry.test");
  auto zero = bad;
  zero.failure =
      regtrace_failure(phase::connect_request, errc::bad_connect_target, "CONNECT registry.test:0");
  std::vector<exchange> trace{bad, zero, bad};
  auto all = diagnose(trace);
  CHECK(with_id(all, "A-02").empty());
  auto found = with_id(all, "R-03");
  REQUIRE(found.size() == 2);  // one per target, each quoted
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0, 2});
  CHECK_THAT(found[0].explanation, Catch::Contains("\"CONNECT registry.test\"") &&
                                       Catch::Contains("host:port") && Catch::Contains("Seen on 2 requests") &&
                                       Catch::Contains("no corporate proxy"));
  CHECK(evidence_entries(found[1]) == std::vector<std::size_t>{1});
  CHECK_THAT(found[1].explanation, Catch::Contains("\"CONNECT registry.test:0\""));
}

TEST_CASE("A-03: the client rejects regtrace's certificate with an alert", "[rules][transport]") {
  auto ok = request("GET", "/v2/", 200);
  auto rejected = request("CONNECT", "", 0);
  rejected.kind = entry_kind::client_tls_rejected;
  rejected.failure = regtrace_failure(phase::client_tls, errc::client_rejected_certificate,
                                      "TLS handshake with the client for registry.test: bad certificate (alert 42 received)");
  std::vector<exchange> trace{ok, rejected};
  auto found = with_id(diagnose(trace), "A-03");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::critical);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{1});
  CHECK_THAT(found[0].explanation, Catch::Contains("alert 42"));
  CHECK_THAT(found[0].remediation, Catch::Contains("certs.d"));
}

TEST_CASE("A-04 and A-08: upstream TLS and dial failures, one finding per host", "[rules][transport]") {
  auto untrusted = request("GET", "/v2/", 502);
  untrusted.generated_response = true;
  untrusted.failure = regtrace_failure(phase::upstream_tls, errc::upstream_unverified, "certificate not trusted");
  auto refused = request("GET", "/v2/", 502, "storage.test");
  refused.generated_response = true;
  refused.failure = make_failure(phase::upstream_connect,
                                 boost::system::errc::make_error_code(boost::system::errc::connection_refused),
                                 "connecting to storage.test:443");
  std::vector<exchange> trace{untrusted, refused, refused};
  auto all = diagnose(trace);
  auto tls = with_id(all, "A-04");
  REQUIRE(tls.size() == 1);
  CHECK(evidence_entries(tls[0]) == std::vector<std::size_t>{0});
  auto dial = with_id(all, "A-08");
  REQUIRE(dial.size() == 1);
  CHECK(dial[0].level == severity::error);
  CHECK(evidence_entries(dial[0]) == std::vector<std::size_t>{1, 2});
  CHECK_THAT(dial[0].explanation, Catch::Contains("storage.test") && Catch::Contains("upstream_connect"));
  CHECK(with_id(all, "C-14").empty());  // regtrace's own 502 is no registry server error
}

TEST_CASE("A-06, not A-04: an upstream that accepted TCP and never spoke TLS", "[rules][transport]") {
  // curl --max-time 5 gave up while regtrace waited on the registry's handshake.
  auto abandoned = request("GET", "/v2/", 0);
  abandoned.request_headers = {{"User-Agent", "curl/7.88.1"}};
  abandoned.timings.connect = 5'000;
  abandoned.timings.ssl = 4'990;
  abandoned.failure = make_failure(phase::upstream_tls, make_error_code(errc::client_abandoned),
                                   "TLS handshake with registry.test", failing_peer::client);
  // dockerd waited longer than regtrace's idle timeout: regtrace answered 504 itself.
  auto timed_out = request("GET", "/v2/", 504, "slow.test");
  timed_out.reason = "Gateway Timeout";
  timed_out.generated_response = true;
  timed_out.request_headers = {{"User-Agent", "docker/20.10.24 go/go1.19.8 os/linux arch/amd64"}};
  timed_out.failure =
      regtrace_failure(phase::upstream_tls, errc::upstream_timeout, "TLS handshake with slow.test");
  std::vector<exchange> trace{abandoned, timed_out};
  auto all = diagnose(trace);
  CHECK(with_id(all, "A-04").empty());
  CHECK(with_id(all, "A-07").empty());
  auto found = with_id(all, "A-06");
  REQUIRE(found.size() == 2);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Catch::Contains("registry.test stalled") &&
                                       Catch::Contains("accepted the TCP connection") &&
                                       Catch::Contains("5.0 s") && Catch::Contains("client gave up"));
  CHECK_THAT(found[0].client_error, Catch::StartsWith("curl: (28) Operation timed out"));
  CHECK(found[0].client_error.find("502") == std::string::npos);
  CHECK_THAT(found[0].remediation, !Catch::Contains("--upstream-ca"));
  CHECK_THAT(found[1].explanation, Catch::Contains("slow.test") && Catch::Contains("own timeout"));
  CHECK_THAT(found[1].client_error, Catch::Contains("504 Gateway Timeout"));
}

TEST_CASE("A-17: TLS spoken to a plain-HTTP registry, and plain HTTP to a TLS port", "[rules][transport]") {
  auto tls_to_plain = request("GET", "/v2/", 502, "plain.test");
  tls_to_plain.generated_response = true;
  tls_to_plain.failure =
      regtrace_failure(phase::upstream_tls, errc::upstream_not_tls,
                       "TLS handshake with plain.test: the server answered \"HTTP/1.1 400\"");
  auto plain_to_tls = request("GET", "/v2/", 400, "tls.test");
  plain_to_tls.scheme = "http";
  plain_to_tls.port = 80;
  plain_to_tls.response_body.text = "Client sent an HTTP request to an HTTPS server.\n";
  auto ordinary_400 = plain_to_tls;
  ordinary_400.response_body.text = R"({"errors":[{"code":"NAME_INVALID"}]})";
  std::vector<exchange> trace{tls_to_plain, plain_to_tls, ordinary_400};
  auto all = diagnose(trace);
  CHECK(with_id(all, "A-04").empty());
  auto found = with_id(all, "A-17");
  REQUIRE(found.size() == 2);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Catch::Contains("plain.test") && Catch::Contains("plain HTTP"));
  CHECK_THAT(found[0].remediation, Catch::Contains("insecure-registries"));
  CHECK(evidence_entries(found[1]) == std::vector<std::size_t>{1});
  CHECK_THAT(found[1].explanation, Catch::Contains("HTTP request to an HTTPS server"));
}

TEST_CASE("A-05: TLS 1.1 or older on either leg", "[rules][transport]") {
  auto client = request("CONNECT", "", 0);
  client.kind = entry_kind::client_tls_rejected;
  client.failure = regtrace_failure(phase::client_tls, errc::tls_version_too_low, "unsupported protocol");
  auto upstream = request("GET", "/v2/", 502, "old.test");
  upstream.generated_response = true;
  upstream.failure = regtrace_failure(phase::upstream_tls, errc::tls_version_too_low, "protocol version (alert 70)");
  std::vector<exchange> trace{client, upstream};
  auto all = diagnose(trace);
  auto found = with_id(all, "A-05");
  REQUIRE(found.size() == 2);
  CHECK(found[0].level == severity::error);
  CHECK(with_id(all, "A-04").empty());
  CHECK(with_id(all, "A-03").empty());
}

TEST_CASE("A-07: a ping or token request that outlasts Go's 15 s client timeout", "[rules][transport]") {
  auto ping = request("GET", "/v2/", 200);
  ping.timings.wait = 16'200;
  auto manifest = request("GET", "/v2/app/manifests/v1", 200);
  manifest.timings.wait = 16'200;  // no overall timeout for manifests: slow, not a client abort
  std::vector<exchange> trace{ping, manifest};
  auto found = with_id(diagnose(trace), "A-07");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Catch::Contains("16.2 s") && Catch::Contains("15 s"));

  auto quick = request("GET", "/v2/", 401);
  quick.timings.wait = 120;
  std::vector<exchange> healthy{quick};
  CHECK(with_id(diagnose(healthy), "A-07").empty());
}

TEST_CASE("A-10: a blob body that does not hash to its digest, directly or behind a redirect",
          "[rules][transport]") {
  auto direct = request("GET", "/v2/app/blobs/" + blob_digest, 200);
  direct.response_body.bytes = 10;
  direct.response_body.sha256 = std::string(64, 'b');
  auto redirect = request("GET", "/v2/app/blobs/" + blob_digest, 307);
  redirect.response_headers = {{"Location", "https://storage.test/blob?sig=x"}};
  auto storage = request("GET", "/blob?sig=x", 200, "storage.test");
  storage.response_body.bytes = 10;
  storage.response_body.sha256 = std::string(64, 'c');
  auto fine = request("GET", "/v2/app/blobs/" + blob_digest, 200);
  fine.response_body.bytes = 10;
  fine.response_body.sha256 = std::string(64, 'a');
  std::vector<exchange> trace{direct, redirect, storage, fine};
  auto found = with_id(diagnose(trace), "A-10");
  REQUIRE(found.size() == 2);
  CHECK(found[0].level == severity::critical);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK(evidence_entries(found[1]) == std::vector<std::size_t>{2, 1});
}

TEST_CASE("A-11: a range request answered 200, recovered or not", "[rules][transport]") {
  auto resumed = request("GET", "/v2/app/blobs/" + blob_digest, 200);
  resumed.request_headers = {{"Range", "bytes=100-"}};
  auto whole = request("GET", "/v2/app/blobs/" + blob_digest, 200);
  std::vector<exchange> recovered{resumed, whole};
  auto found = with_id(diagnose(recovered), "A-11");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::warning);

  std::vector<exchange> aborted{resumed};
  found = with_id(diagnose(aborted), "A-11");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);

  auto honoured = resumed;
  honoured.status = 206;
  honoured.response_headers = {{"Content-Range", "bytes 100-199/200"}};
  std::vector<exchange> healthy{honoured};
  CHECK(with_id(diagnose(healthy), "A-11").empty());
}

TEST_CASE("A-15: several ranges answered with the whole blob, 416 or 501; not A-11", "[rules][transport]") {
  auto whole = request("GET", "/v2/app/blobs/" + blob_digest, 200);
  whole.request_headers = {{"Range", "bytes=100-199,300-399"}};
  auto refused = whole;
  refused.status = 416;
  refused.reason = "Range Not Satisfiable";
  auto full_pull = request("GET", "/v2/app/blobs/" + blob_digest, 200);
  auto served = whole;  // the storage served both ranges: healthy
  served.status = 206;
  served.response_headers = {{"Content-Type", "multipart/byteranges; boundary=x"}};
  std::vector<exchange> trace{whole, refused, full_pull, served};
  auto all = diagnose(trace);
  CHECK(with_id(all, "A-11").empty());
  auto found = with_id(all, "A-15");
  REQUIRE(found.size() == 2);
  CHECK(found[0].level == severity::warning);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0, 2});
  CHECK_THAT(found[0].explanation, Catch::Contains("bytes=100-199,300-399") &&
                                       Catch::Contains("whole body") && Catch::Contains("full pull"));
  CHECK_THAT(found[1].explanation, Catch::Contains("416"));
}

TEST_CASE("A-12 and A-13: HTML pages from other hops", "[rules][transport]") {
  auto waf = request("GET", "/v2/app/manifests/v1", 403);
  waf.response_headers = {{"Content-Type", "text/html"}, {"Server", "BigIP"}};
  waf.response_body.text = "<html><head><title>Access Denied</title></head></html>";
  auto upload = request("PATCH", "/v2/app/blobs/uploads/1234", 413);
  upload.request_body.bytes = 5 << 20;
  upload.response_headers = {{"Content-Type", "text/html"}, {"Server", "nginx"}};
  upload.response_body.text = "<html><head><title>413 Request Entity Too Large</title></head></html>";
  std::vector<exchange> trace{waf, upload};
  auto all = diagnose(trace);
  auto page = with_id(all, "A-12");
  REQUIRE(page.size() == 1);
  CHECK(evidence_entries(page[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(page[0].explanation, Catch::Contains("Access Denied") && Catch::Contains("BigIP"));
  auto too_large = with_id(all, "A-13");
  REQUIRE(too_large.size() == 1);
  CHECK(too_large[0].level == severity::critical);
  CHECK(evidence_entries(too_large[0]) == std::vector<std::size_t>{1});
  CHECK_THAT(too_large[0].explanation, Catch::Contains("nginx"));
}

TEST_CASE("group A stays quiet on a healthy pull", "[rules][transport]") {
  auto ping = request("GET", "/v2/", 401);
  ping.response_headers = {{"WWW-Authenticate", "Basic realm=\"test\""}};
  auto ping2 = request("GET", "/v2/", 200);
  ping2.request_headers = {{"Authorization", "Basic <redacted sha256:12345678>"}};
  auto manifest = request("GET", "/v2/app/manifests/v1", 200);
  manifest.response_headers = {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}};
  auto blob = request("GET", "/v2/app/blobs/" + blob_digest, 200);
  blob.response_body.bytes = 10;
  blob.response_body.sha256 = std::string(64, 'a');
  std::vector<exchange> trace{ping, ping2, manifest, blob};
  std::vector<std::string> group_a;
  for (auto const& f : diagnose(trace))
    if (f.id.front() == 'A') group_a.push_back(f.id);
  CHECK(group_a.empty());
}

}  // namespace regtrace::capture
