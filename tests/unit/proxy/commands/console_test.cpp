// The live console: sizes, durations, shortened targets, exchange lines and the closing summary.

#include "proxy/commands/console.hpp"

#include "capture/model/exchange.hpp"
#include "capture/model/failure.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <boost/system/errc.hpp>

#include <string>

using namespace regtrace::proxy;
namespace capture = regtrace::capture;

namespace {

constexpr std::uint64_t mib = 1024 * 1024;
std::string const digest = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b";
std::string const ellipsis = "…";

bool is_valid_utf8(std::string const& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto const c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    i += length;
  }
  return true;
}

capture::exchange blob_get() {
  capture::exchange x;
  x.connection_id = 3;
  x.request_index = 1;
  x.method = "GET";
  x.host = "registry.test";
  x.port = 5443;
  x.target = "/v2/app/blobs/sha256:" + digest;
  x.status = 200;
  x.response_body.bytes = 64 * mib;
  x.timings.wait = 800;
  x.timings.receive = 12;
  return x;
}

}  // namespace

TEST_CASE("format_bytes uses binary units with one decimal", "[proxy][console]") {
  CHECK(format_bytes(0) == "0 B");
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1023) == "1023 B");
  CHECK(format_bytes(1024) == "1.0 KiB");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_bytes(64 * mib) == "64.0 MiB");
  CHECK(format_bytes(3 * 512 * mib) == "1.5 GiB");
  CHECK(format_bytes(std::uint64_t{2} * 1024 * 1024 * mib) == "2.0 TiB");
  CHECK(format_bytes(std::uint64_t{2048} * 1024 * 1024 * mib) == "2048.0 TiB");
}

// Regression (found by these tests): a size just below a unit boundary stays in the smaller unit and is then
// rounded up by
// "%.1f": format_bytes(1048575) gives "1024.0 KiB" instead of "1.0 MiB" (likewise 1073741823 →
// "1024.0 MiB").
TEST_CASE("format_bytes never prints 1024.0 of a unit", "[proxy][console]") {
  CHECK(format_bytes(mib - 1) == "1.0 MiB");
  CHECK(format_bytes(1024 * mib - 1) == "1.0 GiB");
}

TEST_CASE("format_duration_ms prints ms below a second, seconds above, '-' when unknown",
          "[proxy][console]") {
  CHECK(format_duration_ms(-1) == "-");
  CHECK(format_duration_ms(0) == "0 ms");
  CHECK(format_duration_ms(812) == "812 ms");
  CHECK(format_duration_ms(812.4) == "812 ms");
  CHECK(format_duration_ms(1000) == "1.0 s");
  CHECK(format_duration_ms(3400) == "3.4 s");
  CHECK(format_duration_ms(125000) == "125.0 s");
}

// Regression (found by these tests): durations in [999.5, 1000) ms are rounded by "%.0f" after the unit is
// chosen: format_duration_ms(999.7) gives "1000 ms" instead of "1.0 s".
TEST_CASE("format_duration_ms never prints 1000 ms", "[proxy][console]") {
  CHECK(format_duration_ms(999.7) == "1.0 s");
}

TEST_CASE("shorten_target cuts digests to 12 hex digits", "[proxy][console]") {
  CHECK(shorten_target("/v2/app/blobs/sha256:" + digest) == "/v2/app/blobs/sha256:1a2b3c4d5e6f" + ellipsis);
  CHECK(shorten_target("/v2/app/manifests/sha256:" + digest) ==
        "/v2/app/manifests/sha256:1a2b3c4d5e6f" + ellipsis);
  // Short or absent digests are left alone.
  CHECK(shorten_target("/v2/app/blobs/sha256:0123") == "/v2/app/blobs/sha256:0123");
  CHECK(shorten_target("/v2/app/blobs/sha256:1a2b3c4d5e6f") == "/v2/app/blobs/sha256:1a2b3c4d5e6f");
  CHECK(shorten_target("/v2/app/manifests/latest") == "/v2/app/manifests/latest");
  CHECK(shorten_target("/v2/") == "/v2/");
}

TEST_CASE("shorten_target replaces the query with ?…", "[proxy][console]") {
  CHECK(shorten_target("/token?scope=repository:app:pull&service=registry.test") == "/token?" + ellipsis);
  CHECK(shorten_target("/v2/app/blobs/uploads/?mount=sha256:" + digest + "&from=lib") ==
        "/v2/app/blobs/uploads/?" + ellipsis);
  CHECK(shorten_target("/v2/app/blobs/sha256:" + digest + "?X-Amz-Signature=abc") ==
        "/v2/app/blobs/sha256:1a2b3c4d5e6f" + ellipsis + "?" + ellipsis);
  CHECK(shorten_target("/?") == "/?" + ellipsis);
}

TEST_CASE("shorten_target elides long paths in the middle", "[proxy][console]") {
  std::string const head = "/v2/" + std::string(40, 'a');
  std::string const tail = std::string(40, 'z') + "/tags/list";
  std::string const long_path = head + "/" + std::string(100, 'm') + "/" + tail;

  auto const short_default = shorten_target(long_path);
  CAPTURE(short_default);
  CHECK(short_default.size() <= 64);
  CHECK(short_default.size() >= 60);
  CHECK(short_default.starts_with("/v2/aaaa"));
  CHECK(short_default.ends_with("zzzz/tags/list"));
  CHECK(short_default.find("...") != std::string::npos);

  auto const narrow = shorten_target(long_path, 21);
  CAPTURE(narrow);
  CHECK(narrow == "/v2/aaaaa...tags/list");

  std::string const exactly_64 = "/" + std::string(63, 'p');
  CHECK(shorten_target(exactly_64) == exactly_64);
  CHECK(shorten_target(exactly_64 + "q").size() <= 64);
}

// Regression (found by these tests): the middle elision counts and cuts bytes, so it can split the multi-byte
// "…" that the digest shortening itself inserted. "/v2/blobs/sha256:<64 hex>/" + 60 × 'x' becomes
// "/v2/blobs/sha256:1a2b3c4d5e6f\xE2...xxxx…" at the default width: the prefix ends in the first
// byte of "…", which is not valid UTF-8 on the console. (The same happens to any non-ASCII byte
// sequence in a long target.)
TEST_CASE("shorten_target output stays valid UTF-8", "[proxy][console]") {
  auto const shortened = shorten_target("/v2/blobs/sha256:" + digest + "/" + std::string(60, 'x'));
  CAPTURE(shortened);
  CHECK(is_valid_utf8(shortened));
  CHECK(shortened.size() <= 64);
}

// Regression (found by these tests): with max_width below 3 (the length of "..."), (max_width - 3) / 2 wraps
// around in size_t and out.substr(out.size() - keep) throws std::out_of_range: shorten_target("/abcdef", 2)
// throws instead of returning something at most 2 bytes wide. Only reachable by a caller passing a tiny
// width.
TEST_CASE("shorten_target does not throw for widths smaller than the ellipsis", "[proxy][console]") {
  CHECK_NOTHROW(shorten_target("/abcdef", 2));
  CHECK_NOTHROW(shorten_target("/abcdef", 0));
}

TEST_CASE("format_exchange_line prints one line per exchange", "[proxy][console]") {
  CHECK(format_exchange_line(blob_get()) ==
        "[c3 r1] GET registry.test:5443 /v2/app/blobs/sha256:1a2b3c4d5e6f" + ellipsis +
            " 200 64.0 MiB 812 ms");

  auto default_port = blob_get();
  default_port.port = 443;
  default_port.target = "/v2/";
  default_port.status = 401;
  default_port.response_body.bytes = 87;
  CHECK(format_exchange_line(default_port) == "[c3 r1] GET registry.test /v2/ 401 87 B 812 ms");

  auto plain_http = blob_get();
  plain_http.scheme = "http";
  plain_http.port = 80;
  plain_http.target = "/v2/";
  CHECK(format_exchange_line(plain_http).starts_with("[c3 r1] GET registry.test /v2/ 200"));
}

TEST_CASE("format_exchange_line appends the failure's phase and detail", "[proxy][console]") {
  auto x = blob_get();
  x.status = 0;
  x.response_body.bytes = 0;
  x.failure =
      capture::make_failure(capture::phase::upstream_connect,
                            boost::system::errc::make_error_code(boost::system::errc::connection_refused),
                            "connecting to 127.0.0.1:5443");
  auto const line = format_exchange_line(x);
  CAPTURE(line);
  CHECK(line.starts_with("[c3 r1] GET registry.test:5443 /v2/app/blobs/sha256:1a2b3c4d5e6f"));
  CHECK(line.find(" - 0 B ") != std::string::npos);
  CHECK(line.find("upstream_connect") != std::string::npos);
  CHECK(line.find("connecting to 127.0.0.1:5443") != std::string::npos);
  CHECK(line.find("Connection refused") != std::string::npos);

  // The message is not repeated when the detail already carries it.
  x.failure->detail = "connecting to 127.0.0.1:5443: Connection refused";
  auto const once = format_exchange_line(x);
  CAPTURE(once);
  auto const first = once.find("Connection refused");
  REQUIRE(first != std::string::npos);
  CHECK(once.find("Connection refused", first + 1) == std::string::npos);
}

TEST_CASE("format_exchange_line shows a passthrough tunnel with bytes both ways", "[proxy][console]") {
  capture::exchange x;
  x.kind = capture::entry_kind::tunnel;
  x.connection_id = 5;
  x.request_index = 1;
  x.method = "CONNECT";
  x.host = "registry-1.docker.io";
  x.port = 443;
  x.status = 200;
  x.request_body.bytes = 2048;
  x.response_body.bytes = 3 * mib / 2;
  x.timings.connect = 400;
  x.timings.receive = 3000;
  CHECK(format_exchange_line(x) ==
        "[c5 r1] CONNECT registry-1.docker.io tunnel 2.0 KiB up, 1.5 MiB down 3.4 s");
}

TEST_CASE("format_exchange_line shows a refused client handshake", "[proxy][console]") {
  capture::exchange x;
  x.kind = capture::entry_kind::client_tls_rejected;
  x.connection_id = 7;
  x.host = "registry.test";
  x.port = 5443;
  x.failure = capture::make_failure(capture::phase::client_tls,
                                    capture::make_error_code(capture::errc::client_rejected_certificate),
                                    "client sent alert: unknown ca");
  auto const line = format_exchange_line(x);
  CAPTURE(line);
  CHECK(line.starts_with("[c7 r0] CONNECT registry.test:5443 -"));
  CHECK(line.find("client_tls") != std::string::npos);
  CHECK(line.find("client sent alert: unknown ca") != std::string::npos);

  x.kind = capture::entry_kind::connect_failed;
  x.status = 502;
  x.failure = capture::make_failure(
      capture::phase::resolve, boost::system::errc::make_error_code(boost::system::errc::host_unreachable),
      "resolving registry.test");
  auto const failed = format_exchange_line(x);
  CAPTURE(failed);
  CHECK(failed.starts_with("[c7 r0] CONNECT registry.test:5443 502"));
  CHECK(failed.find("resolve") != std::string::npos);
  CHECK(failed.find("resolving registry.test") != std::string::npos);
}

TEST_CASE("format_exchange_line appends finding ids in brackets", "[proxy][console]") {
  auto x = blob_get();
  x.finding_ids = {"AUTH-001", "BLOB-003"};
  CHECK(format_exchange_line(x) == "[c3 r1] GET registry.test:5443 /v2/app/blobs/sha256:1a2b3c4d5e6f" +
                                       ellipsis + " 200 64.0 MiB 812 ms [AUTH-001] [BLOB-003]");

  x.failure = capture::make_failure(capture::phase::response_relay,
                                    capture::make_error_code(capture::errc::upstream_closed), "reading body");
  auto const line = format_exchange_line(x);
  CAPTURE(line);
  CHECK(line.ends_with(" [AUTH-001] [BLOB-003]"));
  auto const phase_at = line.find("response_relay");
  REQUIRE(phase_at != std::string::npos);
  CHECK(phase_at < line.find("[AUTH-001]"));
}

TEST_CASE("console_totals counts exchanges, failures and bytes each way", "[proxy][console]") {
  console_totals totals;
  CHECK(format_summary(totals) == "0 exchanges (0 failed), 0 B sent, 0 B received; findings: none");

  auto ok = blob_get();
  ok.request_body.bytes = 100;
  totals.add(ok);

  auto upload = blob_get();
  upload.method = "PUT";
  upload.status = 201;
  upload.request_body.bytes = 3 * mib / 2 - 100;
  upload.response_body.bytes = 0;
  totals.add(upload);

  auto with_failure = blob_get();
  with_failure.status = 502;
  with_failure.response_body.bytes = 0;
  with_failure.failure = capture::make_failure(
      capture::phase::upstream_tls, capture::make_error_code(capture::errc::upstream_unverified), "");
  totals.add(with_failure);

  auto no_response = blob_get();
  no_response.status = 0;
  no_response.response_body.bytes = 0;
  totals.add(no_response);

  CHECK(totals.exchanges == 4);
  CHECK(totals.failed == 2);
  CHECK(totals.bytes_up == 3 * mib / 2);
  CHECK(totals.bytes_down == 64 * mib);
  CHECK(format_summary(totals) == "4 exchanges (2 failed), 1.5 MiB sent, 64.0 MiB received; findings: none");

  // Three causes: one critical, two warnings (issue 12: a cause counts once, however often it shows).
  regtrace::capture::rules::finding critical;
  critical.id = "D-01";
  critical.level = regtrace::capture::rules::severity::critical;
  auto warning = critical;
  warning.id = "C-13";
  warning.level = regtrace::capture::rules::severity::warning;
  auto other_warning = warning;
  other_warning.cause = "mirror.test";
  totals.add(critical);
  totals.add(warning);
  totals.add(other_warning);
  CHECK(format_summary(totals).ends_with("; findings: 1 critical, 2 warning"));
}

TEST_CASE("the summary says how many exchanges were in flight when regtrace stopped", "[proxy][console]") {
  console_totals totals;
  auto cut = blob_get();
  cut.status = 0;
  cut.response_body.bytes = 0;
  cut.failure = capture::make_failure(capture::phase::response_relay,
                                      capture::make_error_code(capture::errc::proxy_stopped),
                                      "regtrace was stopped after 1.0 s, while waiting for the response header");
  totals.add(cut);
  totals.add(blob_get());
  CHECK(format_summary(totals).starts_with(
      "2 exchanges (1 failed, 1 in flight when regtrace stopped, written as incomplete entries), "));
  auto const summary = nlohmann::json::parse(json_summary_event(totals, "t.har", 2, 0));
  CHECK(summary["in_flight_at_stop"] == 1);
}

TEST_CASE("console_totals: a cause prints once; the summary lists it with how often it showed",
          "[proxy][console]") {
  using regtrace::capture::rules::severity;
  console_totals totals;
  regtrace::capture::rules::finding limited;
  limited.id = "C-13";
  limited.name = "RATE_LIMITED";
  limited.level = severity::error;
  limited.title = "The registry is rate limiting the client";
  limited.cause = "registry.test";
  limited.evidence = {{3, "GET ... → 429"}};
  limited.seen_on = {3};
  CHECK(totals.add(limited));  // first heard of: print it
  CHECK(format_finding_line(limited) ==
        "  !! C-13 ERROR RATE_LIMITED: The registry is rate limiting the client [entry 4]");
  limited.evidence.push_back({7, "GET ... → 429"});
  limited.seen_on = {3, 7};
  CHECK_FALSE(totals.add(limited));  // the same cause again: count it, print nothing
  limited.seen_on = {3, 7, 9};
  limited.level = severity::warning;  // every request recovered
  CHECK_FALSE(totals.add(limited));
  auto denied = limited;
  denied.id = "B-09";
  denied.name = "AUTH_INSUFFICIENT_SCOPE";
  denied.level = severity::error;
  denied.title = "The token does not grant the action the request needs";
  denied.seen_on = {12};
  CHECK(totals.add(denied));
  CHECK(format_summary(totals).ends_with("; findings: 1 error, 1 warning"));
  CHECK(format_seen_findings(totals) ==
        std::vector<std::string>{
            "  B-09 ERROR AUTH_INSUFFICIENT_SCOPE: The token does not grant the action the request needs, "
            "seen once",
            "  C-13 WARNING RATE_LIMITED: The registry is rate limiting the client, seen 3 times"});
  CHECK(format_seen_findings(console_totals{}).empty());

  auto const summary = nlohmann::json::parse(json_summary_event(totals, "/tmp/t.har", 13, 0));
  CHECK(summary["findings"]["error"] == 1);
  CHECK(summary["findings"]["warning"] == 1);
  REQUIRE(summary["seen"].size() == 2);
  CHECK(summary["seen"][0]["id"] == "C-13");
  CHECK(summary["seen"][0]["severity"] == "warning");
  CHECK(summary["seen"][0]["count"] == 3);
  auto const event = nlohmann::json::parse(json_finding_event(limited));
  CHECK(event["count"] == 3);
  CHECK(event["finding"]["id"] == "C-13");
  CHECK(format_finding_line(limited) ==
        "  !! C-13 WARNING RATE_LIMITED: The registry is rate limiting the client [entry 4, seen 3 times]");
}

TEST_CASE("format_finding_line names the ID, severity, title, entry and the first sentence of the fix",
          "[proxy][console]") {
  regtrace::capture::rules::finding f;
  f.id = "D-01";
  f.name = "REDIRECT_AUTH_FORWARDED";
  f.level = regtrace::capture::rules::severity::critical;
  f.title = "The client sent its credentials to the storage redirect target";
  f.remediation = "Follow the redirect without Authorization. More detail here.";
  f.evidence = {{4, "GET ..."}, {5, "GET ..."}};
  CHECK(regtrace::proxy::format_finding_line(f) ==
        "  !! D-01 CRITICAL REDIRECT_AUTH_FORWARDED: The client sent its credentials to the storage redirect "
        "target [entry 5] Fix: Follow the redirect without Authorization.");
}

TEST_CASE("format_progress_line shows bytes, share of the total and rate", "[proxy][console]") {
  regtrace::capture::exchange x;
  x.connection_id = 3;
  x.request_index = 1;
  x.method = "GET";
  x.host = "registry.test";
  x.port = 5443;
  x.target = "/v2/app/blobs/sha256:" + std::string(64, 'a');
  auto line = regtrace::proxy::format_progress_line(x, 512ull << 20, 1ull << 30, 2.0);
  CHECK(line.starts_with("[c3 r1] GET registry.test:5443 /v2/app/blobs/sha256:aaaaaaaaaaaa"));
  CHECK(line.find("512.0 MiB of 1.0 GiB (50%)") != std::string::npos);
  CHECK(line.ends_with(", 268.4 MB/s"));
  auto unknown = regtrace::proxy::format_progress_line(x, 1024, 0, 1.0);
  CHECK(unknown.find(" of ") == std::string::npos);
  CHECK(unknown.find("1.0 KiB") != std::string::npos);
}

TEST_CASE("--log-format json: each event is one line of JSON with its fields", "[proxy][console]") {
  auto x = blob_get();
  x.finding_ids = {"A-10"};
  x.failure = capture::make_failure(capture::phase::response_relay,
                                    boost::system::errc::make_error_code(boost::system::errc::connection_reset),
                                    "relaying the response body");
  auto const line = json_exchange_event(x);
  CAPTURE(line);
  CHECK(line.find('\n') == std::string::npos);
  auto const event = nlohmann::json::parse(line);
  CHECK(event["event"] == "exchange");
  CHECK(event["time"].get<std::string>().ends_with("Z"));
  CHECK(event["connection"] == 3);
  CHECK(event["method"] == "GET");
  CHECK(event["url"] == "https://registry.test:5443/v2/app/blobs/sha256:" + digest);
  CHECK(event["status"] == 200);
  CHECK(event["response_bytes"] == 64 * mib);
  CHECK(event["time_ms"] == 812.0);
  CHECK(event["failure"]["phase"] == "response_relay");
  CHECK(event["findings"] == nlohmann::json::array({"A-10"}));

  auto signed_url = blob_get();
  signed_url.target = "/blob?sig=secret&se=2030";
  auto const progress = nlohmann::json::parse(json_progress_event(signed_url, 10 * mib, 20 * mib, 2.0));
  CHECK(progress["event"] == "progress");
  CHECK(progress["url"] == "https://registry.test:5443/blob");  // in flight, not yet redacted
  CHECK(progress["bytes"] == 10 * mib);
  CHECK(progress["total_bytes"] == 20 * mib);

  capture::rules::finding f;
  f.id = "D-01";
  f.level = capture::rules::severity::critical;
  auto const finding = nlohmann::json::parse(json_finding_event(f));
  CHECK(finding["finding"]["id"] == "D-01");
  CHECK(finding["finding"]["severity"] == "critical");

  console_totals totals;
  totals.add(x);
  totals.add(f);
  auto const summary = nlohmann::json::parse(json_summary_event(totals, "/tmp/t.har", 1, 0));
  CHECK(summary["exchanges"] == 1);
  CHECK(summary["failed"] == 1);
  CHECK(summary["findings"]["critical"] == 1);
  CHECK(summary["trace"] == "/tmp/t.har");

  auto const listening =
      nlohmann::json::parse(json_listening_event("http://127.0.0.1:8888", "/ca/ca.crt", "/tmp/t.har", {}));
  CHECK(listening["proxy"] == "http://127.0.0.1:8888");
  CHECK_FALSE(listening.contains("replay"));
  CHECK_FALSE(listening.contains("metrics"));
  auto const with_metrics = nlohmann::json::parse(json_listening_event(
      "http://127.0.0.1:8888", "/ca/ca.crt", "/tmp/t.har", {}, {}, "http://127.0.0.1:9888/metrics"));
  CHECK(with_metrics["metrics"] == "http://127.0.0.1:9888/metrics");
}

TEST_CASE("--log-format json survives bytes that are not UTF-8", "[proxy][console]") {
  auto x = blob_get();
  x.target = "/v2/\xff\xfe/tags/list";
  auto const event = nlohmann::json::parse(json_exchange_event(x));
  CHECK(event["url"].get<std::string>().starts_with("https://registry.test:5443/v2/"));
}

TEST_CASE("console lines never pass terminal escapes from a replayed trace (issue 13)", "[proxy][console]") {
  auto const clean = [](std::string const& line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      auto const u = static_cast<unsigned char>(line[i]);
      if (u < 0x20 || u == 0x7f) return false;
      if (u == 0xc2 && i + 1 < line.size() && static_cast<unsigned char>(line[i + 1]) < 0xa0) return false;
    }
    return true;
  };
  auto x = blob_get();
  x.method = "GET\x1b[2J";
  x.target =
      "/v2/\x1b]0;pwned\x07\n\xc2\x9b"
      "31m";
  x.failure =
      capture::make_failure(capture::phase::response_relay,
                            boost::system::errc::make_error_code(boost::system::errc::connection_reset),
                            "replayed: \x1b[5mcut\r\n");
  x.finding_ids = {"C-01\x07"};
  auto const line = format_exchange_line(x);
  CAPTURE(line);
  CHECK(clean(line));
  CHECK(line.find("GET?[2J") != std::string::npos);
  CHECK(clean(format_progress_line(x, 1, 2, 1.0)));

  regtrace::capture::rules::finding f;
  f.id = "C-01";
  f.name = "MANIFEST_NOT_FOUND";
  f.title = "no manifest for \x1b[31mtag\x1b[0m";
  f.remediation = "Push \x07it. More.";
  CHECK(clean(format_finding_line(f)));
  console_totals totals;
  totals.add(f);
  for (auto const& seen : format_seen_findings(totals)) CHECK(clean(seen));
}
