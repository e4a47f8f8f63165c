// The fleet report's four formats: what each shows, the JSON shape, and that strings from the traces
// (titles, causes, file names, reader errors) are escaped for each format.

#include "capture/report/render_fleet.hpp"
#include "tests/support/sample_reports.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>

using namespace regtrace::capture;
using rules::severity;

namespace {

bool contains(std::string const& text, std::string const& part) {
  return text.find(part) != std::string::npos;
}

std::size_t count(std::string const& text, std::string const& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::set<std::string> keys_of(nlohmann::json const& j) {
  std::set<std::string> keys;
  for (auto const& [key, value] : j.items()) keys.insert(key);
  return keys;
}

rules::finding caused(std::string id, severity level, std::string cause, std::size_t exchange) {
  auto f = test::sample_finding(std::move(id), level, exchange, "detail");
  f.cause = std::move(cause);
  f.seen_on = {exchange};
  return f;
}

report::report trace(std::string file, std::vector<rules::finding> findings) {
  return report::make_report(test::sample_read(), std::move(file), std::move(findings));
}

/// node-a and node-b fail on one manifest, node-b also warns, node-c is clean, broken.har is no HAR.
report::fleet sample_fleet() {
  report::fleet_builder b;
  b.add(trace("in/node-a.har", {caused("C-01", severity::error, "r.test/app:v1", 1)}));
  b.add(trace("in/node-b.har", {caused("C-01", severity::error, "r.test/app:v1", 1),
                                caused("W-01", severity::warning, "r.test", 2)}));
  b.add(trace("in/node-c.har", {}));
  b.add_unreadable("in/broken.har", "not a HAR: the text is not valid JSON at byte 1");
  return std::move(b).finish();
}

/// Hostile strings wherever a trace supplies one: the title, the cause, the file name, the reason.
report::fleet hostile_fleet() {
  auto f = caused("C-01", severity::error, "r.test/<script>|x`\x1b[2J", 1);
  f.title = "<img src=x onerror=alert(1)> *bold* | cell\x1b]0;pwned\x07";
  f.remediation = "# not a heading <b>";
  report::fleet_builder b;
  b.add(trace("in/<b>node|1`\x1b[31m.har", {f}));
  b.add_unreadable("in/<i>bad\x1b[2J.har", "not a HAR: <script>alert(2)</script>\x07");
  return std::move(b).finish();
}

}  // namespace

TEST_CASE("fleet text: verdict, findings with nodes and times, unreadable traces, trace summaries",
          "[capture][report][fleet]") {
  auto const f = sample_fleet();
  auto const text = report::render_fleet_text(f, false);
  INFO(text);
  auto const time = report::time_text(test::sample_time(250));
  CHECK(text.starts_with("regtrace fleet report: 3 traces, 1 unreadable\n" + f.verdict + "\n"));
  CHECK(contains(text,
                 "[ERROR] C-01 MANIFEST_NOT_FOUND: title of C-01\n    Cause: r.test/app:v1\n"
                 "    On 2 of 3 traces, 2 requests at " +
                     time +
                     ":\n"
                     "      node-a: 1 request at " +
                     time + "\n      node-b: 1 request at " + time + "\n"));
  CHECK(contains(text, "Fix: fix of C-01"));
  CHECK(text.find("[ERROR] C-01") < text.find("[WARNING] W-01"));
  CHECK(contains(text,
                 "Unreadable traces\n  in/broken.har: not a HAR: the text is not valid JSON at byte 1\n"));
  CHECK(contains(
      text,
      "  node-b.har (WebInspector, 3 entries)\n    FAILED: 1 error, 1 warning — title of C-01 (C-01)\n"));
  CHECK(contains(text, "    [WARNING] W-01: title of W-01 (1 request)\n"));
  CHECK(contains(text, "  node-c.har (WebInspector, 3 entries)\n    No problems found in 3 exchanges\n"));
  CHECK(text.find("Findings across traces") < text.find("Unreadable traces"));
  CHECK(text.find("Unreadable traces") < text.find("Traces\n"));
  CHECK_FALSE(contains(text, "\x1b"));
  CHECK(contains(report::render_fleet_text(f, true), "\x1b[31m[ERROR]\x1b[0m"));
}

TEST_CASE("fleet text: a trace's summary lists its top findings and counts the rest",
          "[capture][report][fleet]") {
  std::vector<rules::finding> many;
  for (auto const id : {"E-01", "E-02", "E-03", "E-04", "E-05"})
    many.push_back(caused(id, severity::error, "c", 0));
  report::fleet_builder b;
  b.add(trace("busy.har", many));
  auto const text = report::render_fleet_text(std::move(b).finish(), false);
  CHECK(contains(text, "    [ERROR] E-03: title of E-03 (1 request)\n    … and 2 more findings\n"));
  CHECK_FALSE(contains(text, "    [ERROR] E-04: "));
}

TEST_CASE("fleet text never passes terminal escapes from the traces", "[capture][report][fleet]") {
  auto const text = report::render_fleet_text(hostile_fleet(), true);
  CHECK_FALSE(contains(text, "\x1b]"));
  CHECK_FALSE(contains(text, "\x1b[2J"));
  CHECK_FALSE(contains(text, "\x1b[31m.har"));
  CHECK_FALSE(contains(text, "\x07"));
  CHECK(contains(text, "<b>node|1`?[31m.har"));
}

TEST_CASE("fleet markdown: findings table, traces per finding, unreadable, traces table",
          "[capture][report][fleet]") {
  auto const md = report::render_fleet_markdown(sample_fleet());
  INFO(md);
  auto const time = report::time_text(test::sample_time(250));
  CHECK(md.starts_with("## regtrace fleet report: 3 traces, 1 unreadable\n\n**FAILED on 2 of 3 traces: "));
  CHECK(contains(
      md, "| ERROR | `C-01` | title of C-01 | `r.test/app:v1` | 2 | 2 | " + time + " | " + time + " |\n"));
  CHECK(contains(md, "\n### C-01 MANIFEST\\_NOT\\_FOUND (error)\n"));
  CHECK(contains(md, "- `node-a`: 1 request at " + time + "\n- `node-b`: 1 request at " + time + "\n"));
  CHECK(contains(
      md, "## Unreadable traces\n\n- `in/broken.har`: not a HAR: the text is not valid JSON at byte 1\n"));
  CHECK(
      contains(md, "| `node-c.har` | `node-c` | WebInspector | 3 | No problems found in 3 exchanges |  |\n"));
}

TEST_CASE("fleet markdown escapes the traces' strings", "[capture][report][fleet]") {
  auto const md = report::render_fleet_markdown(hostile_fleet());
  INFO(md);
  CHECK(count(md, "<img") > 0);
  CHECK(count(md, "<img") == count(md, "\\<img"));
  // The cause only in code spans (no markup there), the reader's reason escaped.
  CHECK(count(md, "<script>") == count(md, "``r.test/<script>"));
  CHECK(contains(md, "\\<script\\>alert(2)\\</script\\>"));
  CHECK(contains(md, "\\# not a heading \\<b\\>"));
  CHECK_FALSE(contains(md, "\n# not"));
  CHECK_FALSE(contains(md, "\x1b"));
  CHECK_FALSE(contains(md, "\x07"));
  // In the tables a '|' from a trace is escaped, so every row keeps its cells.
  CHECK(contains(md, "| ``r.test/<script>\\|x`?[2J`` |"));
  CHECK(contains(md, "\\| cell"));
  for (std::size_t at = md.find("\n| "); at != std::string::npos; at = md.find("\n| ", at + 1)) {
    auto const row = md.substr(at + 1, md.find('\n', at + 1) - at - 1);
    std::size_t cells = 0;
    for (std::size_t i = 0; i < row.size(); ++i) cells += row[i] == '|' && (i == 0 || row[i - 1] != '\\');
    CHECK((cells == 9 || cells == 7));  // the findings table has 8 columns, the traces table 6
  }
}

TEST_CASE("fleet JSON: schema, the fleet's members, every trace's own report", "[capture][report][fleet]") {
  auto const f = sample_fleet();
  auto const j = nlohmann::json::parse(report::render_fleet_json(f));
  CHECK(j["schema"] == "regtrace.fleet-report/1");
  CHECK(keys_of(j) == std::set<std::string>{"schema", "generator", "fleet", "reports"});
  auto const& fleet = j["fleet"];
  CHECK(keys_of(fleet) ==
        std::set<std::string>{"verdict", "worst_severity", "counts", "traces", "unreadable", "findings"});
  CHECK(fleet["verdict"] == f.verdict);
  CHECK(fleet["worst_severity"] == "error");
  CHECK(fleet["counts"] == nlohmann::json{{"critical", 0}, {"error", 1}, {"warning", 1}, {"info", 0}});
  CHECK(fleet["unreadable"] ==
        nlohmann::json::array(
            {{{"file", "in/broken.har"}, {"reason", "not a HAR: the text is not valid JSON at byte 1"}}}));
  REQUIRE(fleet["traces"].size() == 3);
  CHECK(keys_of(fleet["traces"][0]) == std::set<std::string>{"trace", "node", "file", "creator", "entries",
                                                             "truncated", "verdict", "worst_severity",
                                                             "counts"});
  CHECK(fleet["traces"][2]["trace"] == "node-c.har");
  CHECK(fleet["traces"][2]["worst_severity"] == nullptr);

  REQUIRE(fleet["findings"].size() == 2);
  auto const& c01 = fleet["findings"][0];
  CHECK(keys_of(c01) == std::set<std::string>{"id", "name", "severity", "title", "cause", "client_error",
                                              "remediation", "traces", "requests", "first_seen",
                                              "last_seen"});
  auto const time = report::time_text(test::sample_time(250));
  CHECK(c01["id"] == "C-01");
  CHECK(c01["severity"] == "error");
  CHECK(c01["cause"] == "r.test/app:v1");
  CHECK(c01["requests"] == 2);
  CHECK(c01["first_seen"] == time);
  CHECK(c01["traces"] == nlohmann::json::array({
                             {{"trace", "node-a.har"},
                              {"node", "node-a"},
                              {"requests", 1},
                              {"first_seen", time},
                              {"last_seen", time}},
                             {{"trace", "node-b.har"},
                              {"node", "node-b"},
                              {"requests", 1},
                              {"first_seen", time},
                              {"last_seen", time}},
                         }));
  CHECK(fleet["findings"][1]["id"] == "W-01");

  // Rendered one report at a time, the text is still exactly the whole document's.
  CHECK(report::render_fleet_json(f) ==
        report::to_json(f).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  REQUIRE(j["reports"].size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(j["reports"][i] == report::to_json(f.traces[i].summary));
  CHECK(j["reports"][1]["schema"] == "regtrace.report/1");
  CHECK(j["reports"][1]["source"]["file"] == "in/node-b.har");
}

TEST_CASE("fleet HTML: sections, links from findings to traces, no raw markup from the traces",
          "[capture][report][fleet]") {
  auto const html = report::render_fleet_html(sample_fleet());
  CHECK(html.starts_with("<!DOCTYPE html>"));
  CHECK(contains(html, "Content-Security-Policy"));
  for (auto const id : {"verdict", "findings", "unreadable", "traces", "trace-1", "trace-3"})
    CHECK(contains(html, "id=\"" + std::string(id) + "\""));
  CHECK(contains(html, "<td><a href=\"#trace-2\">node-b.har</a></td>"));
  CHECK(contains(
      html, "<span class=\"badge s-error\">1 ERROR</span><span class=\"badge s-warning\">1 WARNING</span>"));

  auto const hostile = report::render_fleet_html(hostile_fleet());
  INFO(hostile);
  CHECK_FALSE(contains(hostile, "<script"));
  CHECK_FALSE(contains(hostile, "<img"));
  CHECK_FALSE(contains(hostile, "<i>"));
  CHECK_FALSE(contains(hostile, "<b>node"));
  CHECK_FALSE(contains(hostile, "\x1b"));
  CHECK_FALSE(contains(hostile, "\x07"));
  CHECK(contains(hostile, "&lt;img src=x onerror=alert(1)&gt;"));
  CHECK(contains(hostile, "&lt;b&gt;node|1`"));
  CHECK(contains(hostile, "&lt;script&gt;alert(2)&lt;/script&gt;"));
}

TEST_CASE("fleet render() picks the format", "[capture][report][fleet]") {
  auto const f = sample_fleet();
  CHECK(report::render(f, report::format::text, false) == report::render_fleet_text(f, false));
  CHECK(report::render(f, report::format::markdown, false) == report::render_fleet_markdown(f));
  CHECK(report::render(f, report::format::json, false) == report::render_fleet_json(f));
  CHECK(report::render(f, report::format::html, false) == report::render_fleet_html(f));
}
