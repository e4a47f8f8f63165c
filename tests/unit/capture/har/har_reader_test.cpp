// read_har_text / read_har_file: round trip of regtrace's own traces, cut files, foreign HARs.

#include "capture/har/har_reader.hpp"
#include "capture/har/har_writer.hpp"
#include "tests/support/sample_exchanges.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace regtrace::capture;

namespace {

void check_same_body(body_record const& read, body_record const& written) {
  CHECK(read.bytes == written.bytes);
  CHECK(read.sha256 == written.sha256);
  CHECK(read.complete == written.complete);
  CHECK(read.text_kept == written.text_kept);
  CHECK(read.text_truncated == written.text_truncated);
  CHECK(read.text == written.text);
}

/// Every field the HAR stores comes back as it was written.
void check_same(exchange const& read, exchange const& written) {
  INFO("entry for " << written.url());
  CHECK(read.kind == written.kind);
  CHECK(read.connection_id == written.connection_id);
  CHECK(read.request_index == written.request_index);
  CHECK(read.upstream_connection_id == written.upstream_connection_id);
  CHECK(read.upstream_reused == written.upstream_reused);
  CHECK(read.started == written.started);
  CHECK(read.client_address == written.client_address);
  CHECK(read.method == written.method);
  CHECK(read.scheme == written.scheme);
  CHECK(read.host == written.host);
  CHECK(read.port == written.port);
  CHECK(read.target == written.target);
  CHECK(read.http_version == written.http_version);
  CHECK(read.request_headers == written.request_headers);
  check_same_body(read.request_body, written.request_body);
  CHECK(read.status == written.status);
  CHECK(read.reason == written.reason);
  if (written.status != 0) CHECK(read.response_http_version == written.response_http_version);
  CHECK(read.response_headers == written.response_headers);
  check_same_body(read.response_body, written.response_body);
  CHECK(read.generated_response == written.generated_response);
  CHECK(read.timings.blocked == written.timings.blocked);
  CHECK(read.timings.dns == written.timings.dns);
  CHECK(read.timings.connect == written.timings.connect);
  CHECK(read.timings.ssl == written.timings.ssl);
  CHECK(read.timings.send == std::max(0.0, written.timings.send));
  CHECK(read.timings.wait == written.timings.wait);
  CHECK(read.timings.receive == written.timings.receive);
  CHECK(read.server_ip == written.server_ip);
  CHECK(read.client_tls == written.client_tls);
  CHECK(read.upstream_tls == written.upstream_tls);
  CHECK(read.insecure_upstream == written.insecure_upstream);
  CHECK(read.upstream_proxy == written.upstream_proxy);
  REQUIRE(read.failure.has_value() == written.failure.has_value());
  if (written.failure) {
    CHECK(read.failure->where == written.failure->where);
    CHECK(read.failure->code_category == written.failure->code_category);
    CHECK(read.failure->code_value == written.failure->code_value);
    CHECK(read.failure->message == written.failure->message);
    CHECK(read.failure->detail == written.failure->detail);
    CHECK(read.failure->peer == written.failure->peer);
  }
  CHECK(read.finding_ids == written.finding_ids);
}

std::vector<exchange> samples() {
  return {test::manifest_get(), test::broken_blob_get(), test::token_post(), test::refused()};
}

}  // namespace

TEST_CASE("exchanges survive har_file and read_har_file", "[capture][reader]") {
  auto const dir = test::scratch_dir("round-trip");
  auto const path = dir / "trace.har";
  auto const written = samples();
  {
    har_file file(path);
    for (auto const& x : written) REQUIRE(file.append(to_har_entry(x)));
  }
  auto const result = read_har_file(path);
  REQUIRE(result.ok);
  CHECK_FALSE(result.truncated);
  CHECK(result.creator == "regtrace");
  CHECK(result.warnings.empty());
  REQUIRE(result.exchanges.size() == written.size());
  for (std::size_t i = 0; i < written.size(); ++i) check_same(result.exchanges[i], written[i]);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a file cut anywhere keeps every complete entry before the cut", "[capture][reader]") {
  auto const dir = test::scratch_dir("cut");
  auto const path = dir / "trace.har";
  auto const written = samples();
  {
    har_file file(path);
    for (auto const& x : written) REQUIRE(file.append(to_har_entry(x)));
  }
  auto const text = test::slurp(path);
  // Where each entry's closing brace ends: entries are lines of their own, the comma after them.
  std::vector<std::size_t> entry_ends;
  for (std::size_t at = text.find("\n{"); at != std::string::npos; at = text.find("\n{", at + 1)) {
    auto const line_end = text.find('\n', at + 1);
    entry_ends.push_back(text[line_end - 1] == ',' ? line_end - 1 : line_end);
  }
  REQUIRE(entry_ends.size() == written.size());
  auto const head_size = text.find("\"entries\":[") + 11;

  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    auto const prefix = std::string_view(text).substr(0, cut);
    auto const result = read_har_text(prefix);
    INFO("cut at byte " << cut);
    if (cut < head_size) {
      CHECK_FALSE(result.ok);
      CHECK(result.error.starts_with("not a HAR"));
      continue;
    }
    REQUIRE(result.ok);
    std::size_t expected = 0;
    while (expected < entry_ends.size() && entry_ends[expected] <= cut) ++expected;
    REQUIRE(result.exchanges.size() == expected);
    if (expected > 0) check_same(result.exchanges.back(), written[expected - 1]);
    bool const complete_json = nlohmann::json::accept(prefix);
    CHECK(result.truncated == !complete_json);
    if (result.truncated) {
      CHECK(result.creator == "regtrace");
      REQUIRE_FALSE(result.warnings.empty());
      CHECK(result.warnings.back().find("ends at byte " + std::to_string(cut)) != std::string::npos);
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("text that is not a HAR is refused with a sentence", "[capture][reader]") {
  auto const not_json = read_har_text("not json");
  CHECK_FALSE(not_json.ok);
  CHECK(not_json.error.starts_with("not a HAR: the text is not valid JSON"));
  CHECK(not_json.error.find("at byte ") != std::string::npos);

  auto const no_log = read_har_text(R"({"foo":1})");
  CHECK_FALSE(no_log.ok);
  CHECK(no_log.error == "not a HAR: the JSON has no \"log\" object");

  auto const no_entries = read_har_text(R"({"log":{"version":"1.2"}})");
  CHECK_FALSE(no_entries.ok);
  CHECK(no_entries.error == "not a HAR: log.entries is missing or is not an array");

  auto const empty = read_har_text("");
  CHECK_FALSE(empty.ok);
  CHECK_FALSE(empty.error.empty());
}

TEST_CASE("the machine a trace was recorded on travels in log.creator._node", "[capture][reader]") {
  auto const dir = test::scratch_dir("reader-node");
  {
    har_file file(dir / "named.har", "node-17.example");
    har_file unnamed(dir / "unnamed.har");
  }
  CHECK(read_har_file(dir / "named.har").node == "node-17.example");
  CHECK(read_har_file(dir / "unnamed.har").node.empty());
  // Not a host name: longer than 255 bytes, or not a string.
  auto const with_node = [](std::string const& node) {
    return read_har_text(R"({"log":{"version":"1.2","creator":{"name":"x","version":"1","_node":)" + node +
                         R"(},"entries":[]}})");
  };
  CHECK(with_node("\"" + std::string(255, 'n') + "\"").node == std::string(255, 'n'));
  CHECK(with_node("\"" + std::string(256, 'n') + "\"").node.empty());
  CHECK(with_node("17").node.empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("read_har_file names a missing file", "[capture][reader]") {
  auto const result = read_har_file("/nonexistent-regtrace-dir/trace.har");
  CHECK_FALSE(result.ok);
  CHECK(result.error == "cannot read /nonexistent-regtrace-dir/trace.har: No such file or directory");
}

TEST_CASE("base64 content is decoded when it is text and counted when it is not", "[capture][reader]") {
  auto const result =
      read_har_text(R"({"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},
    "entries":[
      {"startedDateTime":"2024-01-02T03:04:05.006Z","time":1,
       "request":{"method":"GET","url":"https://r.example/v2/","httpVersion":"HTTP/1.1","headers":[],"cookies":[],
                  "queryString":[],"headersSize":-1,"bodySize":0},
       "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],
                   "content":{"size":5,"mimeType":"text/plain; charset=utf-8","text":"aGVsbG8=","encoding":"base64"},
                   "redirectURL":"","headersSize":-1,"bodySize":5},
       "cache":{},"timings":{"send":1,"wait":2,"receive":3}},
      {"startedDateTime":"2024-01-02T03:04:05.006Z","time":1,
       "request":{"method":"GET","url":"https://r.example/v2/x/blobs/sha256:1","httpVersion":"HTTP/1.1","headers":[]},
       "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],
                   "content":{"mimeType":"application/octet-stream","text":"AAECAw==","encoding":"base64"}},
       "cache":{},"timings":{"send":0,"wait":0,"receive":0}}]}})");
  REQUIRE(result.ok);
  CHECK(result.creator == "WebInspector");
  REQUIRE(result.exchanges.size() == 2);
  auto const& text = result.exchanges[0].response_body;
  CHECK(text.text == "hello");
  CHECK(text.text_kept);
  CHECK(text.bytes == 5);
  CHECK(text.sha256 == sha256_hex("hello"));
  auto const& binary = result.exchanges[1].response_body;
  CHECK_FALSE(binary.text_kept);
  CHECK(binary.text.empty());
  CHECK(binary.bytes == 4);
  CHECK(binary.sha256 == sha256_hex(std::string("\x00\x01\x02\x03", 4)));
  CHECK(result.exchanges[0].timings.wait == 2);
  CHECK(result.exchanges[0].timings.dns == -1);
}

TEST_CASE("a HAR 1.1 with few fields is read tolerantly", "[capture][reader]") {
  auto const result = read_har_text(R"({"log":{"version":"1.1","creator":{"name":"Firebug","version":"1.5"},
    "entries":[
      {"startedDateTime":"2010-01-02T03:04:05.678+01:00",
       "request":{"method":"POST","url":"http://Example.com:8080/a?b=c#frag","httpVersion":"HTTP/1.0",
                  "postData":{"mimeType":"application/json","text":"{\"a\":1}"}},
       "response":{"status":401,"statusText":"Unauthorized","content":{"mimeType":"text/html"},
                   "_error":"net::ERR_ABORTED"}},
      {"request":{"method":"GET","url":"https://[2001:db8::1]/v2/"}},
      {"response":{"status":200}},
      42]}})");
  REQUIRE(result.ok);
  CHECK(result.creator == "Firebug");
  REQUIRE(result.exchanges.size() == 2);

  auto const& first = result.exchanges[0];
  using namespace std::chrono;
  CHECK(first.started ==
        sys_days{year{2010} / 1 / 2} + hours{2} + minutes{4} + seconds{5} + milliseconds{678});
  CHECK(first.scheme == "http");
  CHECK(first.host == "Example.com");
  CHECK(first.port == 8080);
  CHECK(first.target == "/a?b=c");
  CHECK(first.http_version == "HTTP/1.0");
  CHECK(first.request_body.text == R"({"a":1})");
  CHECK(first.request_body.bytes == 7);
  CHECK(first.status == 401);
  CHECK(first.response_body.bytes == 0);
  CHECK(first.timings == timings_ms{});
  REQUIRE(first.failure.has_value());
  CHECK(first.failure->message == "net::ERR_ABORTED");

  auto const& second = result.exchanges[1];
  CHECK(second.host == "2001:db8::1");
  CHECK(second.port == 443);
  CHECK(second.target == "/v2/");
  CHECK(second.status == 0);

  auto const mentions = [&](std::string const& words) {
    for (auto const& w : result.warnings) {
      if (w.find(words) != std::string::npos) return true;
    }
    return false;
  };
  CHECK(mentions("entry 2 has no response; kept the request"));
  CHECK(mentions("entry 3 has no request; skipped it"));
  CHECK(mentions("entry 4 has no request"));
  CHECK(mentions("entry 2 has no readable startedDateTime"));
}

TEST_CASE("connection ids are read from regtrace's and Chrome's connection field", "[capture][reader]") {
  auto const result =
      read_har_text(R"({"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[
      {"connection":"c17","request":{"method":"GET","url":"https://a/"},"response":{"status":200}},
      {"connection":"318","request":{"method":"GET","url":"https://a/"},"response":{"status":200}}]}})");
  REQUIRE(result.exchanges.size() == 2);
  CHECK(result.exchanges[0].connection_id == 17);
  CHECK(result.exchanges[1].connection_id == 318);
}

TEST_CASE("numbers written as strings are read as numbers", "[capture][reader]") {
  auto const result =
      read_har_text(R"({"log":{"version":"1.2","creator":{"name":"Fiddler","version":"5"},"entries":[
      {"startedDateTime":"2024-01-02T03:04:05.006Z","time":"12.5",
       "request":{"method":"GET","url":"https://r.example/v2/","bodySize":"0"},
       "response":{"status":"404","statusText":"Not Found","content":{"size":"3","mimeType":"text/plain","text":"abc"}},
       "timings":{"blocked":"-1","dns":"1.5","connect":"-1","ssl":"-1","send":"0.5","wait":"10","receive":"nan"}},
      {"startedDateTime":"2024-01-02T03:04:05.006Z","time":7,
       "request":{"method":"GET","url":"https://r.example/v2/"},"response":{"status":1e300}}]}})");
  REQUIRE(result.ok);
  REQUIRE(result.exchanges.size() == 2);
  auto const& x = result.exchanges[0];
  CHECK(x.status == 404);
  CHECK(x.response_body.bytes == 3);
  CHECK(x.timings.blocked == -1);
  CHECK(x.timings.dns == 1.5);
  CHECK(x.timings.wait == 10);
  CHECK(x.timings.receive == 0);  // "nan" is no number: the default
  // No timings object: the entry's total time still places it on a timeline.
  CHECK(result.exchanges[1].timings.wait == 7);
  CHECK(result.exchanges[1].status == 0);
}

TEST_CASE("entry_indexes keep log.entries positions when entries are skipped", "[capture][reader]") {
  auto const result = read_har_text(R"({"log":{"version":"1.2","entries":[
      {"request":{"method":"GET","url":"https://a/1"}},
      {"response":{"status":200}},
      {"request":{"method":"GET","url":"https://a/3"}}]}})");
  REQUIRE(result.exchanges.size() == 2);
  CHECK(result.entry_indexes == std::vector<std::size_t>{0, 2});
  CHECK(result.exchanges[1].target == "/3");
}

TEST_CASE("mitmproxy har_dump entries are read", "[capture][reader]") {
  // The shape mitmproxy 8's har_dump.py writes: isoformat() with microseconds and +00:00, integer
  // timings, content.size of the raw (compressed) body while text is the decoded one.
  auto const result =
      read_har_text(R"({"log":{"version":"1.2","creator":{"name":"mitmproxy har_dump","version":"0.1",
    "comment":"mitmproxy version 8.1.1"},"entries":[
      {"startedDateTime":"2026-11-28T00:33:47.123456+00:00","time":5,
       "request":{"method":"HEAD","url":"https://registry.test:5443/v2/e2e/app/manifests/missing","httpVersion":"HTTP/1.1",
                  "cookies":[],"headers":[{"name":"Host","value":"registry.test:5443"}],"queryString":[],
                  "headersSize":40,"bodySize":0},
       "response":{"status":404,"statusText":"Not Found","httpVersion":"HTTP/1.1","cookies":[],
                   "headers":[{"name":"Content-Encoding","value":"gzip"}],
                   "content":{"size":20,"compression":76,"mimeType":"application/json; charset=utf-8",
                              "text":"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\",\"detail\":{}}]}"},
                   "redirectURL":"","headersSize":30,"bodySize":20},
       "cache":{},"timings":{"send":0,"receive":1,"wait":3,"connect":1,"ssl":-1},"serverIPAddress":"127.0.0.1"}]}})");
  REQUIRE(result.ok);
  CHECK(result.creator == "mitmproxy har_dump");
  REQUIRE(result.exchanges.size() == 1);
  auto const& x = result.exchanges[0];
  using namespace std::chrono;
  CHECK(x.started == sys_days{year{2026} / 11 / 28} + minutes{33} + seconds{47} + microseconds{123456});
  CHECK(x.method == "HEAD");
  CHECK(x.host == "registry.test");
  CHECK(x.port == 5443);
  CHECK(x.status == 404);
  CHECK(x.response_body.bytes == 20);
  CHECK(x.response_body.text.find("MANIFEST_UNKNOWN") != std::string::npos);
  CHECK(x.server_ip == "127.0.0.1");
  CHECK(x.timings.dns == -1);
  CHECK(x.timings.connect == 1);
}

TEST_CASE("a file that is not a HAR is named by what it looks like and where it fails", "[capture][reader]") {
  auto const html = read_har_text("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n");
  CHECK_FALSE(html.ok);
  CHECK(html.error.find("at byte 1 (line 1, column 1)") != std::string::npos);
  CHECK(html.error.find("looks like HTML") != std::string::npos);

  auto const broken = read_har_text("{\n  \"log\": {\n    \"version\": 1.2,\n    oops\n");
  CHECK_FALSE(broken.ok);
  INFO(broken.error);
  CHECK(broken.error.find("(line 4, column 5)") != std::string::npos);

  auto const binary =
      read_har_text(std::string("\x7f"
                                "ELF\x02\x01\x01\x00\x00",
                                9));
  CHECK_FALSE(binary.ok);
  CHECK(binary.error.find("binary data") != std::string::npos);

  auto const zhar = read_har_text(std::string("\x78\xda\xab\x56\x4a", 5));
  CHECK_FALSE(zhar.ok);
  CHECK(zhar.error.find("zlib-compressed") != std::string::npos);

  auto const empty = read_har_text("  \n");
  CHECK(empty.error.find("the file is empty") != std::string::npos);

  auto const array = read_har_text(R"([{"log":{}}])");
  CHECK(array.error == "not a HAR: the JSON has no \"log\" object");
}

TEST_CASE("the Chrome fixture is read, and a cut copy of it keeps its complete entries",
          "[capture][reader]") {
  auto const path = std::filesystem::path(REGTRACE_FIXTURES) / "chrome-registry.har";
  auto const whole = read_har_file(path);
  REQUIRE(whole.ok);
  CHECK(whole.creator == "WebInspector");
  CHECK_FALSE(whole.truncated);
  CHECK(whole.warnings.empty());
  REQUIRE(whole.exchanges.size() == 4);
  CHECK(whole.exchanges[0].connection_id == 4242);
  CHECK(whole.exchanges[1].response_body.text.starts_with(R"({"token":)"));
  CHECK(whole.exchanges[2].response_body.text.find("MANIFEST_UNKNOWN") != std::string::npos);
  CHECK(whole.exchanges[2].response_body.bytes == 96);
  CHECK(whole.exchanges[0].timings.ssl == 20.4);

  auto const text = test::slurp(path);
  auto const cut_at = text.find("\"url\": \"https://registry.example.com/v2/team/app/tags/list\"");
  REQUIRE(cut_at != std::string::npos);
  auto const cut = read_har_text(std::string_view(text).substr(0, cut_at));
  REQUIRE(cut.ok);
  CHECK(cut.truncated);
  CHECK(cut.creator == "WebInspector");
  CHECK(cut.exchanges.size() == 3);
  REQUIRE_FALSE(cut.warnings.empty());
  CHECK(cut.warnings.back().find("ends at byte " + std::to_string(cut_at) + " (line ") != std::string::npos);
  CHECK(cut.warnings.back().find("kept 3 complete entries") != std::string::npos);
}
