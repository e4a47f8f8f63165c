// The four renderers: content, escaping of trace strings, and the JSON schema's stable keys.

#include "capture/report/render.hpp"
#include "tests/support/sample_reports.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

using namespace regtrace::capture;

namespace {

bool contains(std::string const& text, std::string const& part) {
  return text.find(part) != std::string::npos;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::set<std::string> keys_of(nlohmann::json const& j) {
  std::set<std::string> keys;
  for (auto const& [key, value] : j.items()) keys.insert(key);
  return keys;
}

}  // namespace

TEST_CASE("format names", "[capture][report]") {
  CHECK(report::format_from_string("text") == report::format::text);
  CHECK(report::format_from_string("markdown") == report::format::markdown);
  CHECK(report::format_from_string("md") == report::format::markdown);
  CHECK(report::format_from_string("json") == report::format::json);
  CHECK(report::format_from_string("html") == report::format::html);
  CHECK_FALSE(report::format_from_string("pdf").has_value());
}

TEST_CASE("text report: verdict, what the user saw, findings with evidence, requests", "[capture][report]") {
  auto const r = test::sample_report();
  auto const text = report::render_text(r, false);
  INFO(text);
  CHECK(
      text.starts_with("regtrace report: trace.har (WebInspector, 3 entries)\n"
                       "FAILED: 1 error, 1 warning — title of C-01 (C-01)\n"));
  CHECK(contains(text, "warning: entry 2 has no request; skipped it"));
  CHECK(contains(text, "What the user most likely saw:\n  client error of C-01\n"));
  CHECK(contains(text, "Fix:\n  fix of C-01\n"));
  CHECK(contains(text, "[ERROR] C-01 MANIFEST_NOT_FOUND: title of C-01"));
  CHECK(contains(text, "      #3 GET /v2/team/app/manifests/v1<script> → 404 | x\n"));
  CHECK(contains(text, "[WARNING] W-01"));
  CHECK(text.find("[ERROR] C-01") < text.find("[WARNING] W-01"));
  CHECK(contains(text, "404 MANIFEST_UNKNOWN"));
  CHECK(contains(text, "#4"));
  CHECK(contains(text, "[C-01]"));
  CHECK_FALSE(contains(text, "\x1b"));
  CHECK_FALSE(contains(text, "X-99"));

  auto const coloured = report::render_text(r, true);
  CHECK(contains(coloured, "\x1b[31m[ERROR]\x1b[0m"));
}

TEST_CASE("text report never passes terminal escapes from the trace", "[capture][report]") {
  auto read = test::sample_read();
  read.exchanges[0].target = "/v2/\x1b]0;pwned\x07";
  auto const r = report::make_report(
      std::move(read), "t.har", {test::sample_finding("C-01", rules::severity::error, 0, "bad\x1b[2J")});
  auto const text = report::render_text(r, true);
  CHECK_FALSE(contains(text, "\x1b]"));
  CHECK_FALSE(contains(text, "\x1b[2J"));
  CHECK_FALSE(contains(text, "\x07"));
  CHECK(contains(text, "bad?[2J"));
}

TEST_CASE("markdown report: headings, findings table and details, request table", "[capture][report]") {
  auto const md = report::render_markdown(test::sample_report());
  INFO(md);
  CHECK(md.starts_with(
      "## regtrace report: `trace.har`\n\n**FAILED: 1 error, 1 warning — title of C-01 (C-01)**\n"));
  CHECK(contains(md, "## Findings\n\n| Severity | ID | Name | Title | Evidence |\n|---|---|---|---|---|\n"));
  CHECK(contains(md, "| ERROR | `C-01` | `MANIFEST_NOT_FOUND` | title of C-01 | #3 |\n"));
  CHECK(contains(md, "### C-01 MANIFEST\\_NOT\\_FOUND (error)"));
  CHECK(contains(md, "Client error:\n\n```text\nclient error of C-01\n```\n"));
  CHECK(contains(md, "**Fix:** fix of C-01"));
  CHECK(contains(md, "> **Warning:** entry 2 has no request; skipped it"));
  CHECK(
      contains(md, "## Requests\n\n| # | Start | Method | Host | Path | Status | Bytes | Time | Findings |"));
  CHECK(contains(md, "| #3 | +0.250 s | `GET` | `registry.example.com:5000` |"));
  // The hostile path stays inside a code span and its pipe cannot split the table row.
  CHECK(contains(md, "`/v2/team/app/manifests/v1<script>alert(1)</script>\\|x`"));
  CHECK(contains(md, "`404 MANIFEST_UNKNOWN`"));
  // Every request row has exactly the table's 10 unescaped pipes.
  auto const rows_start = md.find("## Requests");
  std::size_t line_start = md.find("| #", rows_start + 20);
  for (; line_start != std::string::npos && line_start < md.size();
       line_start = md.find('\n', line_start) + 1) {
    auto const line = md.substr(line_start, md.find('\n', line_start) - line_start);
    if (line.empty()) break;
    std::size_t pipes = 0;
    for (std::size_t i = 0; i < line.size(); ++i) pipes += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    INFO(line);
    CHECK(pipes == 10);
  }
}

TEST_CASE("markdown free text is escaped", "[capture][report]") {
  auto read = test::sample_read();
  auto f = test::sample_finding("C-01", rules::severity::error, 0, "d");
  f.title = "<img src=x onerror=alert(1)> *bold* [link](http://x)";
  auto const md = report::render_markdown(report::make_report(std::move(read), "t.har", {f}));
  auto const count = [&](std::string const& part) {
    std::size_t n = 0;
    for (auto at = md.find(part); at != std::string::npos; at = md.find(part, at + 1)) ++n;
    return n;
  };
  CHECK(count("<img") > 0);
  CHECK(count("<img") == count("\\<img"));  // every one escaped
  CHECK(contains(md, "\\<img src=x onerror=alert(1)\\> \\*bold\\* \\[link\\](http://x)"));
}

TEST_CASE("JSON report: schema, stable keys, 0-based entry indexes", "[capture][report]") {
  auto const r = test::sample_report();
  auto const j = nlohmann::json::parse(report::render_json(r));
  CHECK(j["schema"] == "regtrace.report/1");
  CHECK(keys_of(j) == std::set<std::string>{"schema", "generator", "verdict", "result", "worst_severity",
                                            "counts", "client_error", "remediation", "findings", "entries",
                                            "warnings", "source", "clients"});
  CHECK(j["verdict"] == r.verdict);
  CHECK(j["result"] == "failed");
  CHECK(j["worst_severity"] == "error");
  CHECK(j["counts"] == nlohmann::json{{"critical", 0}, {"error", 1}, {"warning", 1}, {"info", 0}});
  CHECK(j["client_error"] == "client error of C-01");
  CHECK(j["remediation"] == "fix of C-01");
  CHECK(j["warnings"] == nlohmann::json{"entry 2 has no request; skipped it"});
  CHECK(j["source"] == nlohmann::json{{"file", "trace.har"},
                                      {"creator", "WebInspector"},
                                      {"entries", 3},
                                      {"truncated", false},
                                      {"by_regtrace", false}});
  CHECK(j["generator"]["name"] == "regtrace");

  REQUIRE(j["findings"].size() == 2);
  CHECK(j["findings"][0] == rules::to_json(r.findings[0]));
  CHECK(j["findings"][0]["entries"] == nlohmann::json{2});
  CHECK(j["findings"][0]["evidence"][0]["entry"] == 2);

  REQUIRE(j["entries"].size() == 3);
  CHECK(keys_of(j["entries"][0]) ==
        std::set<std::string>{"entry", "started", "start_ms", "method", "url", "host", "target", "status",
                              "status_text", "error_code", "failure", "request_bytes", "response_bytes",
                              "time_ms", "timings", "findings"});
  CHECK(keys_of(j["entries"][0]["timings"]) ==
        std::set<std::string>{"blocked", "dns", "connect", "ssl", "send", "wait", "receive"});
  CHECK(j["entries"][0]["entry"] == 0);
  CHECK(j["entries"][0]["error_code"].is_null());
  CHECK(j["entries"][1]["entry"] == 2);
  CHECK(j["entries"][1]["status"] == 404);
  CHECK(j["entries"][1]["error_code"] == "MANIFEST_UNKNOWN");
  CHECK(j["entries"][1]["findings"] == nlohmann::json{"C-01"});
  CHECK(j["entries"][1]["start_ms"] == 250.0);
  CHECK(j["entries"][1]["target"] == "/v2/team/app/manifests/v1<script>alert(1)</script>|x");
  CHECK(j["entries"][2]["status"] == 0);
  CHECK(j["entries"][2]["failure"].get<std::string>().starts_with("upstream_connect: "));

  auto const clean =
      nlohmann::json::parse(report::render_json(report::make_report(test::sample_read(), "t", {})));
  CHECK(clean["result"] == "passed");
  CHECK(clean["worst_severity"].is_null());
  CHECK(clean["findings"] == nlohmann::json::array());
}

TEST_CASE("HTML report: sections, waterfall, and no raw markup from the trace", "[capture][report]") {
  auto const html = report::render_html(test::sample_report());
  CHECK(html.starts_with("<!DOCTYPE html>"));
  for (auto const* id : {"id=\"verdict\"", "id=\"warnings\"", "id=\"summary\"", "id=\"findings\"",
                         "id=\"timeline\"", "id=\"requests\"", "id=\"entry-3\"", "<svg", "<rect", "<table"})
    CHECK(contains(html, id));
  CHECK(contains(html, "FAILED: 1 error, 1 warning — title of C-01 (C-01)"));
  CHECK(contains(html, "<a href=\"#entry-3\">#3</a>"));
  CHECK(contains(html, "client error of C-01"));
  // The trace's <script> (header value, path, evidence) arrives escaped, never as markup.
  CHECK_FALSE(contains(lower(html), "<script"));
  CHECK(contains(html, "&lt;script&gt;alert(&#39;h&#39;)&lt;/script&gt;"));
  CHECK(contains(html, "v1&lt;script&gt;alert(1)&lt;/script&gt;|x"));
  CHECK_FALSE(contains(html, "\x1b"));
  // Self-contained: nothing is loaded from anywhere (the SVG namespace is a name, not a fetch).
  CHECK_FALSE(contains(lower(html), "src="));
  CHECK_FALSE(contains(lower(html), "url("));
  CHECK_FALSE(contains(lower(html), "@import"));
  std::regex const href("href=\"([^\"]*)\"");
  for (std::sregex_iterator it(html.begin(), html.end(), href), end; it != end; ++it) {
    auto const target = (*it)[1].str();
    INFO(target);
    CHECK((target.starts_with("#") || target.starts_with("data:")));
  }
  CHECK(contains(html, "default-src 'none'"));
}

TEST_CASE("HTML timeline places bars by start offset and timing phases", "[capture][report]") {
  auto const html = report::render_html(test::sample_report());
  auto const svg = html.substr(html.find("<svg"), html.find("</svg>") - html.find("<svg"));
  // Three rows: each has a <g> with a tooltip naming the entry.
  CHECK(std::count(svg.begin(), svg.end(), '\n') >= 3);
  CHECK(contains(svg, "<title>#1 GET https://registry.example.com:5000/v2/ → 401"));
  CHECK(contains(svg, "<title>#3 GET"));
  CHECK(contains(svg, "wait: 20 ms"));
  CHECK(contains(svg, "fill=\"#66a61e\""));  // the wait phase colour
}

TEST_CASE("every format names the clients from their User-Agent, escaped", "[capture][report]") {
  auto r = test::sample_report();
  r.clients = {{{"docker", "20.10.24+dfsg1", "Docker Engine 20.10.24+dfsg1"}, "docker/20.10.24+dfsg1 go/go1.19.8", 2},
               {{"<b>", "1", "<b> 1"}, "<b>/1", 1}};
  auto const text = report::render_text(r, false);
  CHECK(contains(text, "Clients: Docker Engine 20.10.24+dfsg1 (2 requests), <b> 1 (1 request)\n"));
  auto const markdown = report::render_markdown(r);
  CHECK(contains(markdown, "Clients: Docker Engine 20.10.24+dfsg1 (2 requests)"));
  auto const html = report::render_html(r);
  CHECK(contains(html, "Clients: Docker Engine 20.10.24+dfsg1 (2 requests), &lt;b&gt; 1 (1 request)"));
  CHECK_FALSE(contains(html, "<b> 1"));
  auto const j = nlohmann::json::parse(report::render_json(r));
  REQUIRE(j["clients"].size() == 2);
  CHECK(j["clients"][0] == nlohmann::json{{"runtime", "docker"},
                                          {"version", "20.10.24+dfsg1"},
                                          {"label", "Docker Engine 20.10.24+dfsg1"},
                                          {"user_agent", "docker/20.10.24+dfsg1 go/go1.19.8"},
                                          {"requests", 2}});
}

namespace {

// A trace whose URL, host, header and finding texts carry terminal escapes (ESC, BEL, C1 CSI), markup
// and Markdown structure (backticks, pipes, newlines): issue 13.
report::report hostile_report() {
  auto read = test::sample_read();
  auto& x = read.exchanges[1];
  x.host = "evil\x1b[2J.example";
  x.target =
      "/v2/a`b``c|d\ne\x1b]0;pwned\x07<script>alert(1)</script>\xc2\x9b"
      "31m";
  x.request_headers.push_back({"X-Bell", "ring\x07\x1b[5m"});
  auto f = test::sample_finding("C-01", rules::severity::error, 1, "evidence \x1b[31m`x`|y\nz");
  f.title = "title \x1b[2J| - not a list";
  f.explanation = "- 1. \x1b[1mexplained\n# not a heading";
  f.client_error = "Error: manifest\x1b]8;;http://evil\x07 unknown\r\nsecond line\n```\nnot code";
  f.remediation = "1. fix \x07 it";
  read.warnings.push_back("warning \x1b[41m from the trace");
  return report::make_report(std::move(read), "t\x1b[1m.har", {f});
}

// allowed: the line-ending characters the format may hold ("\n", or "\r\n\t" in HTML, where a CR is a
// line end and no escape).
bool has_terminal_control(std::string const& text, std::string_view allowed) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto const u = static_cast<unsigned char>(text[i]);
    if (u != 0 && allowed.find(text[i]) != std::string_view::npos) continue;
    if (u < 0x20 || u == 0x7f) return true;
    if (u == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("markdown report never passes terminal escapes from the trace (issue 13)", "[capture][report]") {
  auto const md = report::render_markdown(hostile_report());
  INFO(md);
  CHECK_FALSE(has_terminal_control(md, "\n"));
  CHECK(contains(md, "?[2J"));  // replaced, not dropped: the reader sees something was there
}

TEST_CASE("a hostile URL cannot break the markdown structure (issue 13)", "[capture][report]") {
  auto const md = report::render_markdown(hostile_report());
  INFO(md);
  // Every request row is still one line with the table's 10 unescaped pipes.
  auto const rows_start = md.find("## Requests");
  REQUIRE(rows_start != std::string::npos);
  std::size_t rows = 0;
  for (auto line_start = md.find("| #", rows_start + 20); line_start != std::string::npos;
       line_start = md.find('\n', line_start) + 1) {
    auto const line = md.substr(line_start, md.find('\n', line_start) - line_start);
    if (line.empty()) break;
    std::size_t pipes = 0;
    for (std::size_t i = 0; i < line.size(); ++i) pipes += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    INFO(line);
    CHECK(pipes == 10);
    ++rows;
  }
  CHECK(rows == 3);
  // The path's backticks stay inside one code span, fenced by a longer run.
  CHECK(contains(md, "```/v2/a`b``c\\|d e?]0;pwned?<script>alert(1)</script>?31m```"));
  // Free text cannot open a list or a heading; the client error's fence outlasts its backticks.
  CHECK(contains(md, "\\- 1. ?\\[1mexplained \\# not a heading"));
  CHECK(contains(md, "**Fix:** 1\\. fix ? it"));
  CHECK(contains(md,
                 "````text\nError: manifest?]8;;http://evil? unknown?\nsecond line\n```\nnot code\n````\n"));
  CHECK(contains(md, "> **Warning:** warning ?\\[41m from the trace"));
}

TEST_CASE("text report: hostile host, header and finding texts stay one escaped line each (issue 13)",
          "[capture][report]") {
  auto const text = report::render_text(hostile_report(), false);
  INFO(text);
  CHECK_FALSE(has_terminal_control(text, "\n"));
}

TEST_CASE("HTML report escapes <script> and terminal escapes in a URL (issue 13)", "[capture][report]") {
  auto const html = report::render_html(hostile_report());
  CHECK_FALSE(contains(lower(html), "<script"));
  CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_FALSE(has_terminal_control(html, "\r\n\t"));
  CHECK(contains(html, "evil\xef\xbf\xbd[2J.example"));  // U+FFFD where the ESC was
}
