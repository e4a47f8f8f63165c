// The operations in the four formats: placed before the findings, the same phrases everywhere, the
// JSON members of docs/report-json-schema.md, and the trace's strings escaped for each format.

#include "capture/report/render.hpp"
#include "tests/support/operation_traces.hpp"
#include "tests/support/sample_reports.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace regtrace::capture::test {
namespace {

bool contains(std::string const& text, std::string const& part) {
  return text.find(part) != std::string::npos;
}

/// docker pulls team/app:1.0, its second layer's storage GET (#9) cut by the registry and cited by
/// an A-14 finding; skopeo logs in afterwards.
report::report failed_pull_report() {
  auto b = docker_pull();
  auto& layer = b.entries[8];
  layer.response_body.complete = false;
  layer.response_body.bytes = 1u << 20;
  layer.failure = make_failure(phase::response_relay, make_error_code(errc::upstream_closed), "reading body",
                               failing_peer::upstream);
  layer.timings.receive = 2300;
  trace_builder login;
  login.user_agent = skopeo_ua;
  login.add("GET", "/v2/", 401).response_headers.push_back({"WWW-Authenticate", R"(Basic realm="r")"});
  login.add("GET", "/v2/", 200)
      .request_headers.push_back({"Authorization", "Basic <redacted user=bob sha256:77aa01de>"});
  auto trace = b.entries;
  trace.insert(trace.end(), login.entries.begin(), login.entries.end());
  return report_of(sequence(trace, 10),
                   {sample_finding("A-14", rules::severity::error, 8, "the layer stopped at 1 MiB")});
}

/// A pull whose repository and tag hold markup, Markdown syntax and terminal escapes, and a login
/// (from curl) whose account does.
report::report hostile_report() {
  trace_builder b;
  b.add("GET", "/v2/a<img src=x onerror=alert(1)>`|*x*/manifests/v1\x1b]0;t\x07", 404,
        registry_error("MANIFEST_UNKNOWN", "manifest unknown"));
  trace_builder login;
  login.user_agent = curl_ua;
  login.add("GET", "/v2/", 401);
  login.add_to("auth.test", 443, "GET", "/token?account=%1b%5b2Jeve%3Cb%3E|`x`&service=registry.test", 200);
  auto trace = b.entries;
  trace.insert(trace.end(), login.entries.begin(), login.entries.end());
  return report_of(sequence(trace));
}

}  // namespace

TEST_CASE("text report: an operations block before the findings", "[capture][report][operations]") {
  auto const r = failed_pull_report();
  REQUIRE(r.operations.size() == 2);
  auto const text = report::render_text(r, false);
  INFO(text);
  CHECK(contains(text,
                 "\nOperations\n"
                 "  pull registry.test:5443/team/app:1.0 — failed after 2.4 s at #9 GET storage.test/"));
  CHECK(contains(text, " 200 (response_relay: "));
  CHECK(contains(text, "; 1 of 2 layers, 5.0 MiB\n    docker; #1 to #9 (9 requests); findings: A-14\n"));
  CHECK(contains(
      text,
      "  login to registry.test:5443 as bob — succeeded in 10 ms\n    skopeo; #10 to #11 (2 requests)\n"));
  CHECK(text.find("Operations") < text.find("Findings ("));
  CHECK(text.find("What the user most likely saw:") < text.find("Operations"));

  auto const coloured = report::render_text(r, true);
  CHECK(contains(coloured, "\x1b[31mfailed\x1b[0m"));
  CHECK(contains(coloured, "\x1b[32msucceeded\x1b[0m"));
}

TEST_CASE("markdown report: an operations table", "[capture][report][operations]") {
  auto const md = report::render_markdown(failed_pull_report());
  INFO(md);
  CHECK(contains(
      md, "\n## Operations\n\n| Operation | Client | Outcome | Time | Moved | Requests | Findings |\n"));
  CHECK(contains(md,
                 "| pull registry.test:5443/team/app:1.0 | `docker` | **failed** at #9 `GET storage.test/"));
  CHECK(contains(md, "| 2.4 s | 1 of 2 layers, 5.0 MiB | #1 to #9 (9 requests) | `A-14` |\n"));
  CHECK(contains(md, "| login to registry.test:5443 as bob | `skopeo` | **succeeded** |"));
  CHECK(md.find("## Operations") < md.find("## Findings"));
}

TEST_CASE("JSON report: the operations array", "[capture][report][operations]") {
  auto const r = failed_pull_report();
  auto const j = nlohmann::json::parse(report::render_json(r));
  REQUIRE(j["operations"].size() == 2);
  auto const& pull = j["operations"][0];
  std::set<std::string> keys;
  for (auto const& [key, value] : pull.items()) keys.insert(key);
  CHECK(keys == std::set<std::string>{"kind",          "title",
                                      "registry",      "repository",
                                      "reference",     "user",
                                      "client",        "user_agent",
                                      "outcome",       "note",
                                      "first_failure", "start_ms",
                                      "duration_ms",   "bytes",
                                      "blobs",         "blobs_completed",
                                      "layers",        "layers_completed",
                                      "findings",      "entries"});
  CHECK(pull["kind"] == "pull");
  CHECK(pull["title"] == "pull registry.test:5443/team/app:1.0");
  CHECK(pull["registry"] == "registry.test:5443");
  CHECK(pull["repository"] == "team/app");
  CHECK(pull["reference"] == "1.0");
  CHECK(pull["user"] == "alice");
  CHECK(pull["client"] == "docker");
  CHECK(pull["user_agent"] == docker_ua);
  CHECK(pull["outcome"] == "failed");
  CHECK(pull["note"].is_null());
  CHECK(pull["first_failure"]["entry"] == 8);
  CHECK(pull["first_failure"]["method"] == "GET");
  CHECK(pull["first_failure"]["status"] == 200);
  CHECK(pull["first_failure"]["error_code"].is_null());
  CHECK(pull["first_failure"]["failure"].get<std::string>().starts_with("response_relay: "));
  CHECK(pull["first_failure"]["url"].get<std::string>().starts_with("https://storage.test/docker/"));
  CHECK(pull["first_failure"]["target"].get<std::string>().starts_with("/docker/registry/v2/blobs/sha256/22/"));
  CHECK(pull["layers"] == 2);
  CHECK(pull["layers_completed"] == 1);
  CHECK(pull["blobs"] == 3);
  CHECK(pull["blobs_completed"] == 2);
  CHECK(pull["findings"] == nlohmann::json{"A-14"});
  CHECK(pull["duration_ms"] == Approx(2380));
  REQUIRE(pull["entries"].size() == 9);
  CHECK(pull["entries"][0] == nlohmann::json{{"entry", 0}, {"role", "ping"}});
  CHECK(pull["entries"][6] == nlohmann::json{{"entry", 6}, {"role", "storage"}});

  auto const& login = j["operations"][1];
  CHECK(login["kind"] == "login");
  CHECK(login["repository"].is_null());
  CHECK(login["reference"].is_null());
  CHECK(login["first_failure"].is_null());
  CHECK(login["outcome"] == "succeeded");

  // A trace without operations keeps the document as it was: no member at all.
  auto const plain = nlohmann::json::parse(report::render_json(sample_report()));
  CHECK_FALSE(plain.contains("operations"));
}

TEST_CASE("HTML report: an operations section with links to the request rows",
          "[capture][report][operations]") {
  auto const html = report::render_html(failed_pull_report());
  CHECK(contains(html, "<section id=\"operations\"><h2>Operations</h2>"));
  CHECK(html.find("id=\"operations\"") < html.find("id=\"findings\""));
  CHECK(contains(html, "<article class=\"operation op-failed\" id=\"operation-1\">"));
  CHECK(contains(html,
                 "<span class=\"badge o-failed\">FAILED</span>pull registry.test:5443/team/app:1.0</h3>"));
  CHECK(contains(html, "docker · 2.4 s · 1 of 2 layers, 5.0 MiB · findings A-14"));
  CHECK(contains(html, "Failed at <a href=\"#entry-9\">#9</a> <code>GET storage.test/"));
  CHECK(contains(html, "<a href=\"#entry-1\">#1</a></td><td>ping</td>"));
  CHECK(
      contains(html, "<span class=\"badge o-succeeded\">SUCCEEDED</span>login to registry.test:5443 as bob"));
  // Every link of the section goes to a row of the request table.
  auto const section = html.substr(html.find("id=\"operations\""),
                                   html.find("id=\"findings\"") - html.find("id=\"operations\""));
  for (std::size_t at = section.find("href=\"#entry-"); at != std::string::npos;
       at = section.find("href=\"#entry-", at + 1)) {
    auto const id = section.substr(at + 7, section.find('"', at + 7) - at - 7);
    CHECK(contains(html, "<tr id=\"" + id + "\""));
  }
}

TEST_CASE("operations escape what the trace holds in every format", "[capture][report][operations]") {
  auto const r = hostile_report();
  REQUIRE(r.operations.size() == 2);
  CHECK(r.operations[1].title == "login to registry.test:5443 as \x1b[2Jeve<b>|`x`");

  auto const text = report::render_text(r, true);
  auto const block = text.substr(text.find("Operations"), text.find("Requests") - text.find("Operations"));
  CHECK_FALSE(contains(block, "\x1b]"));
  CHECK_FALSE(contains(block, "\x07"));
  CHECK_FALSE(contains(block, "\x1b[2J"));

  auto const md = report::render_markdown(r);
  auto const table = md.substr(md.find("## Operations"), md.find("## Requests") - md.find("## Operations"));
  INFO(table);
  // Free text escaped; the request inside a code span (a fence longer than its backtick runs).
  CHECK(contains(table, "| pull registry.test:5443/a\\<img src=x onerror=alert(1)\\>\\`\\|\\*x\\*:v1"));
  CHECK(contains(table, "``GET /v2/a<img src=x onerror=alert(1)>`\\|*x*/manifests/v1"));
  CHECK(contains(table, "as ?\\[2Jeve\\<b\\>\\|\\`x\\` |"));  // the ESC shown as "?", as in text
  // Each row keeps its 8 unescaped pipes whatever the repository or account holds.
  for (auto const* start : {"\n| pull", "\n| login"}) {
    auto const row = table.substr(table.find(start) + 1);
    auto const line = row.substr(0, row.find('\n'));
    std::size_t pipes = 0;
    for (std::size_t i = 0; i < line.size(); ++i) pipes += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    INFO(line);
    CHECK(pipes == 8);
  }

  auto const html = report::render_html(r);
  auto lower = html;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  CHECK_FALSE(contains(lower, "<img"));
  CHECK(contains(html, "a&lt;img src=x onerror=alert(1)&gt;"));
  CHECK_FALSE(contains(html, "\x1b"));
  CHECK_FALSE(contains(html, "\x07"));

  auto const j = nlohmann::json::parse(report::render_json(r));
  CHECK(j["operations"][0]["repository"] == "a<img src=x onerror=alert(1)>`|*x*");
  CHECK(j["operations"][1]["user"] == "\x1b[2Jeve<b>|`x`");
}

}  // namespace regtrace::capture::test
