// to_har_entry and har_file: HAR 1.2 structure, regtrace's fields, and a file valid after every append.

#include "capture/har/har_writer.hpp"
#include "tests/support/sample_exchanges.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace regtrace::capture;
using nlohmann::json;

namespace {

/// The members HAR 1.2 requires, with their types; returns one sentence per problem.
std::vector<std::string> har12_problems(json const& har) {
  std::vector<std::string> problems;
  auto need = [&](json const& j, std::string const& where, char const* key, json::value_t type) {
    if (!j.is_object() || !j.contains(key)) {
      problems.push_back(where + "." + key + " is missing");
      return;
    }
    auto const actual = j.at(key).type();
    bool const number_ok = type == json::value_t::number_float && j.at(key).is_number();
    if (actual != type && !number_ok) problems.push_back(where + "." + key + " has the wrong type");
  };
  using vt = json::value_t;
  need(har, "", "log", vt::object);
  if (!problems.empty()) return problems;
  auto const& log = har["log"];
  need(log, "log", "version", vt::string);
  need(log, "log", "creator", vt::object);
  need(log, "log", "entries", vt::array);
  if (!problems.empty()) return problems;
  need(log["creator"], "log.creator", "name", vt::string);
  need(log["creator"], "log.creator", "version", vt::string);
  for (std::size_t i = 0; i < log["entries"].size(); ++i) {
    auto const& e = log["entries"][i];
    auto const at = "entries[" + std::to_string(i) + "]";
    need(e, at, "startedDateTime", vt::string);
    need(e, at, "time", vt::number_float);
    need(e, at, "request", vt::object);
    need(e, at, "response", vt::object);
    need(e, at, "cache", vt::object);
    need(e, at, "timings", vt::object);
    if (!problems.empty()) return problems;
    for (auto key : {"method", "url", "httpVersion"}) need(e["request"], at + ".request", key, vt::string);
    for (auto key : {"cookies", "headers", "queryString"})
      need(e["request"], at + ".request", key, vt::array);
    for (auto key : {"headersSize", "bodySize"}) need(e["request"], at + ".request", key, vt::number_float);
    for (auto key : {"status", "headersSize", "bodySize"})
      need(e["response"], at + ".response", key, vt::number_float);
    for (auto key : {"statusText", "httpVersion", "redirectURL"})
      need(e["response"], at + ".response", key, vt::string);
    for (auto key : {"cookies", "headers"}) need(e["response"], at + ".response", key, vt::array);
    need(e["response"], at + ".response", "content", vt::object);
    if (e["response"].contains("content")) {
      need(e["response"]["content"], at + ".response.content", "size", vt::number_float);
      need(e["response"]["content"], at + ".response.content", "mimeType", vt::string);
    }
    if (e["request"].contains("postData"))
      need(e["request"]["postData"], at + ".request.postData", "mimeType", vt::string);
    for (auto key : {"send", "wait", "receive"}) {
      need(e["timings"], at + ".timings", key, vt::number_float);
      if (e["timings"].value(key, -1.0) < 0) problems.push_back(at + ".timings." + key + " is negative");
    }
    for (auto key : {"blocked", "dns", "connect", "ssl"}) {
      if (e["timings"].contains(key) && e["timings"][key].get<double>() < -1)
        problems.push_back(at + " bad " + key);
    }
    for (auto const& list : {e["request"]["headers"], e["response"]["headers"], e["request"]["cookies"]}) {
      for (auto const& pair : list) {
        need(pair, at + " header/cookie", "name", vt::string);
        need(pair, at + " header/cookie", "value", vt::string);
      }
    }
  }
  return problems;
}

json wrap(std::vector<json> entries) {
  return json{
      {"log",
       {{"version", "1.2"}, {"creator", {{"name", "regtrace"}, {"version", "t"}}}, {"entries", entries}}}};
}

}  // namespace

TEST_CASE("to_har_entry writes the HAR 1.2 required members for every shape", "[capture][har]") {
  std::vector<json> entries;
  for (auto const& x : {test::manifest_get(), test::broken_blob_get(), test::token_post(), test::refused()}) {
    entries.push_back(to_har_entry(x));
  }
  auto const problems = har12_problems(wrap(entries));
  for (auto const& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}

TEST_CASE("to_har_entry: request, response and timings of a manifest GET", "[capture][har]") {
  auto const x = test::manifest_get();
  auto const e = to_har_entry(x);
  CHECK(e["startedDateTime"] == "2026-11-27T21:56:37.123Z");
  CHECK(e["time"].get<double>() == Approx(x.total_ms()));
  CHECK(e["connection"] == "c42");
  CHECK(e["serverIPAddress"] == "10.0.0.5");
  CHECK_FALSE(e.contains("comment"));

  auto const& request = e["request"];
  CHECK(request["method"] == "GET");
  CHECK(request["url"] ==
        "https://registry.example.com:5000/v2/library/alpine/manifests/3.19?ns=docker.io&flag");
  CHECK(request["headers"].size() == 3);
  CHECK(request["headers"][1] ==
        json{{"name", "Accept"}, {"value", "application/vnd.oci.image.index.v1+json"}});
  CHECK(request["queryString"] ==
        json::parse(R"([{"name":"ns","value":"docker.io"},{"name":"flag","value":""}])"));
  CHECK(request["cookies"] ==
        json::parse(R"([{"name":"session","value":"abc"},{"name":"theme","value":"dark"}])"));
  CHECK(request["headersSize"] == -1);
  CHECK(request["bodySize"] == 0);
  CHECK_FALSE(request.contains("postData"));

  auto const& response = e["response"];
  CHECK(response["status"] == 200);
  CHECK(response["statusText"] == "OK");
  CHECK(response["redirectURL"] == "");
  CHECK(response["cookies"].size() == 1);
  CHECK(response["cookies"][0]["name"] == "sid");
  CHECK(response["cookies"][0]["value"] == "1");
  CHECK(response["cookies"][0]["httpOnly"] == true);
  CHECK(response["content"]["mimeType"] == "application/vnd.oci.image.index.v1+json");
  CHECK(response["content"]["text"] == x.response_body.text);
  CHECK(response["content"]["size"] == x.response_body.bytes);
  CHECK_FALSE(response["content"].contains("comment"));

  CHECK(e["timings"] ==
        json::parse(
            R"({"blocked":0.5,"dns":1.25,"connect":10.0,"ssl":7.5,"send":0.25,"wait":20.0,"receive":3.0})"));
}

TEST_CASE("to_har_entry: the _regtrace object", "[capture][har]") {
  auto const x = test::manifest_get();
  auto const r = to_har_entry(x)["_regtrace"];
  CHECK(r["kind"] == "exchange");
  CHECK(r["connection_id"] == 42);
  CHECK(r["request_index"] == 3);
  CHECK(r["upstream_connection_id"] == 7);
  CHECK(r["upstream_reused"] == true);
  CHECK(r["client_address"] == "127.0.0.1:51234");
  CHECK(r["generated_response"] == false);
  CHECK(r["passthrough"] == false);
  CHECK(r["client_tls"]["version"] == "TLSv1.3");
  CHECK(r["client_tls"]["alpn"] == "http/1.1");
  CHECK(r["upstream_tls"]["verify_error"] == "self-signed certificate");
  CHECK(r["upstream_tls"]["session_resumed"] == true);
  CHECK(r["upstream_tls"]["peer_chain"].size() == 1);
  CHECK(r["response_body"]["sha256"] == x.response_body.sha256);
  CHECK(r["response_body"]["bytes"] == x.response_body.bytes);
  CHECK(r["request_body"]["bytes"] == 0);
  CHECK(r["registry"]["kind"] == "manifest");
  CHECK(r["registry"]["repository"] == "library/alpine");
  CHECK(r["registry"]["reference"] == "3.19");
  CHECK(r["findings"] == json::parse(R"(["T-03","A-01"])"));
  CHECK(r["upstream_proxy"] == "http://proxy.corp.example:3128");
  CHECK_FALSE(r.contains("failure"));
  // A direct connection's entry has no upstream_proxy at all.
  CHECK_FALSE(to_har_entry(test::token_post())["_regtrace"].contains("upstream_proxy"));
}

TEST_CASE("to_har_entry: a binary body cut off by a failure", "[capture][har]") {
  auto const x = test::broken_blob_get();
  auto const e = to_har_entry(x);
  CHECK(e["request"]["url"] == "http://[::1]:8080/v2/library/alpine/blobs/sha256:abcd");
  CHECK_FALSE(e.contains("serverIPAddress"));
  auto const& content = e["response"]["content"];
  CHECK_FALSE(content.contains("text"));
  CHECK(content["comment"] == "binary body not stored (65536 bytes, sha256 " + x.response_body.sha256 + ")");
  auto const comment = e["comment"].get<std::string>();
  CHECK(comment.find('\n') == std::string::npos);
  CHECK(comment.starts_with("response_relay: "));
  auto const& r = e["_regtrace"];
  CHECK(r["response_body"]["complete"] == false);
  CHECK(r["failure"]["phase"] == "response_relay");
  CHECK(r["failure"]["category"] == "regtrace");
  CHECK(r["failure"]["value"] == static_cast<int>(errc::upstream_closed));
  CHECK(r["failure"]["detail"] == "reading body\nchunk 3");
  CHECK_FALSE(r.contains("client_tls"));
  CHECK_FALSE(r.contains("upstream_tls"));
  CHECK(r["registry"]["kind"] == "blob");
}

TEST_CASE("to_har_entry: a form POST has postData params and a redirect has redirectURL", "[capture][har]") {
  auto const e = to_har_entry(test::token_post());
  auto const& post = e["request"]["postData"];
  CHECK(post["mimeType"] == "application/x-www-form-urlencoded; charset=utf-8");
  CHECK(post["text"] == "grant_type=password&service=registry&scope=repository%3Afoo%3Apull");
  REQUIRE(post["params"].size() == 3);
  CHECK(post["params"][2] == json{{"name", "scope"}, {"value", "repository%3Afoo%3Apull"}});
  CHECK(e["request"]["bodySize"] == 66);
  CHECK(e["response"]["redirectURL"] == "https://other.example.com/token");
  CHECK(e["response"]["content"]["mimeType"] == "x-unknown");
}

TEST_CASE("to_har_entry: no response gives status 0 and _error", "[capture][har]") {
  auto const x = test::refused();
  auto const e = to_har_entry(x);
  auto const& response = e["response"];
  CHECK(response["status"] == 0);
  CHECK(response["statusText"] == "");
  CHECK(response["httpVersion"] == "");
  CHECK(response["content"] == json{{"size", 0}, {"mimeType", "x-unknown"}});
  CHECK(response["_error"] == "Connection refused");
  CHECK(e["timings"]["send"] == 0);  // negative send is not allowed in HAR
  CHECK(e["timings"]["blocked"] == -1);
  CHECK(e["_regtrace"]["failure"]["phase"] == "upstream_connect");
}

TEST_CASE("to_har_entry: a tunnel is marked passthrough", "[capture][har]") {
  exchange x;
  x.kind = entry_kind::tunnel;
  x.method = "CONNECT";
  x.host = "registry.example.com";
  x.target = "registry.example.com:443";
  x.status = 200;
  x.request_body.bytes = 100;
  auto const e = to_har_entry(x);
  CHECK(e["_regtrace"]["kind"] == "tunnel");
  CHECK(e["_regtrace"]["passthrough"] == true);
  CHECK(e["request"]["postData"]["text"] == "");
}

TEST_CASE("har_file is valid JSON after every append, one entry per line", "[capture][har]") {
  auto const dir = test::scratch_dir("har-file");
  auto const path = dir / "trace.har";
  har_file file(path);
  CHECK(json::parse(test::slurp(path))["log"]["entries"].empty());
  CHECK(har12_problems(json::parse(test::slurp(path))).empty());

  std::vector<exchange> const samples{test::manifest_get(), test::broken_blob_get(), test::token_post(),
                                      test::refused()};
  for (std::size_t i = 0; i < samples.size(); ++i) {
    REQUIRE(file.append(to_har_entry(samples[i])));
    auto const text = test::slurp(path);
    auto const doc = json::parse(text, nullptr, false);
    REQUIRE_FALSE(doc.is_discarded());
    CHECK(doc["log"]["entries"].size() == i + 1);
    CHECK(doc["log"]["creator"]["name"] == "regtrace");
    CHECK(doc["log"]["creator"]["version"] == REGTRACE_VERSION);
    CHECK(har12_problems(doc).empty());
    CHECK(text.ends_with("}}\n"));
    if (i == 1) std::filesystem::copy_file(path, dir / "copy.har");
  }
  CHECK(file.entries() == 4);

  // A copy taken mid-way (as a crash would leave it) is a complete HAR of what was written so far.
  CHECK(json::parse(test::slurp(dir / "copy.har"))["log"]["entries"].size() == 2);

  // Greppable: each entry is one line of its own.
  std::istringstream lines(test::slurp(path));
  std::string line;
  int entry_lines = 0;
  while (std::getline(lines, line)) {
    if (!line.starts_with("{\"_regtrace\"")) continue;
    if (line.ends_with(",")) line.pop_back();
    CHECK_FALSE(json::parse(line, nullptr, false).is_discarded());
    ++entry_lines;
  }
  CHECK(entry_lines == 4);
  std::filesystem::remove_all(dir);
}

TEST_CASE("har_file extras appear after the entries and survive appends", "[capture][har]") {
  auto const dir = test::scratch_dir("har-extras");
  auto const path = dir / "trace.har";
  har_file file(path);
  REQUIRE(file.set_log_extras(json{{"_findings", json::array({{{"id", "T-03"}, {"severity", "ERROR"}}})},
                                   {"_regtrace", {{"dropped_records", 2}}}}));
  auto doc = json::parse(test::slurp(path));
  CHECK(doc["log"]["_findings"][0]["id"] == "T-03");
  CHECK(doc["log"]["_regtrace"]["dropped_records"] == 2);

  REQUIRE(file.append(to_har_entry(test::token_post())));
  doc = json::parse(test::slurp(path));
  CHECK(doc["log"]["entries"].size() == 1);
  CHECK(doc["log"]["_findings"].size() == 1);

  // Shorter extras: the old, longer tail must not linger past the new end.
  REQUIRE(file.set_log_extras(json::object()));
  doc = json::parse(test::slurp(path));
  CHECK_FALSE(doc["log"].contains("_findings"));
  CHECK(doc["log"]["entries"].size() == 1);

  CHECK_FALSE(file.set_log_extras(json::array()));
  CHECK_FALSE(file.last_error().empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("har_file names the path it cannot create", "[capture][har]") {
  try {
    har_file file("/nonexistent-regtrace-dir/trace.har");
    FAIL("no exception");
  } catch (std::runtime_error const& e) {
    std::string const what = e.what();
    CHECK(what.starts_with(
        "cannot create trace file /nonexistent-regtrace-dir/trace.har: No such file or directory."));
    CHECK(what.find("--har") != std::string::npos);
  }
}

TEST_CASE("har_file writes bytes that are not UTF-8 instead of failing", "[capture][har]") {
  auto const dir = test::scratch_dir("har-utf8");
  har_file file(dir / "trace.har");
  auto x = test::manifest_get();
  x.response_body.text = "caf\xe9";
  CHECK(file.append(to_har_entry(x)));
  CHECK_FALSE(json::parse(test::slurp(dir / "trace.har"), nullptr, false).is_discarded());
  std::filesystem::remove_all(dir);
}
