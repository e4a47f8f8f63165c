// The HTML report: one self-contained page (inline CSS and SVG, no script, no external URL), so it
// opens from a ticket attachment without a network. Every string from the trace goes through
// html_escape, and a Content-Security-Policy forbids loading anything should one ever slip through.
#include "capture/text/display.hpp"
#include "capture/report/render.hpp"
#include "capture/report/render_detail.hpp"

namespace regtrace::capture::report {
namespace {

using detail::html_escape;

constexpr std::size_t body_preview_bytes = 4096;

constexpr char const* style = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:16px 24px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:0 0 4px}h4{font-size:13px;margin:10px 0 2px;color:#555}
code,pre,td.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:4px;padding:8px;white-space:pre-wrap;
word-break:break-all;margin:4px 0}
.source{color:#666;margin:0}
.verdict{border-radius:6px;padding:12px 16px;margin:14px 0;font-size:16px;font-weight:600}
.v-ok{background:#e6f4ea;border:1px solid #34a853}.v-warning{background:#fef7e0;border:1px solid #f9ab00}
.v-error{background:#fce8e6;border:1px solid #d93025}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:700;color:#fff;
margin-right:6px}
.s-critical{background:#8b0000}.s-error{background:#d93025}.s-warning{background:#e37400}.s-info{background:#1a73e8}
.warnings{background:#fff8e1;border-left:4px solid #f9ab00;padding:8px 8px 8px 28px;margin:8px 0}
.finding{border:1px solid #ddd;border-left-width:6px;border-radius:4px;padding:10px 14px;margin:10px 0}
.f-critical{border-left-color:#8b0000}.f-error{border-left-color:#d93025}.f-warning{border-left-color:#e37400}
.f-info{border-left-color:#1a73e8}
.finding .title{font-weight:600;margin:2px 0 6px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;
vertical-align:top}th{background:#fafafa;position:sticky;top:0}td.num{text-align:right;white-space:nowrap}
td.path{word-break:break-all}tr.hit td{background:#fff4f2}tr:target td{outline:2px solid #1a73e8}
.st-bad{color:#d93025;font-weight:600}
details summary{cursor:pointer;color:#1a73e8;white-space:nowrap}dl{margin:4px 0}dt{font-weight:600;margin-top:6px}
.waterfall{overflow-x:auto;border:1px solid #eee;border-radius:4px}
.waterfall text{font:11px ui-monospace,"DejaVu Sans Mono",monospace}.waterfall .axis{fill:#777}
.waterfall .tick{stroke:#eee}.label.hit,.label.bad{fill:#d93025}.label.ok{fill:#333}
.legend span{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;
margin-right:4px;vertical-align:middle}
.operation{border:1px solid #ddd;border-left-width:6px;border-radius:4px;padding:8px 14px;margin:10px 0}
.op-succeeded{border-left-color:#34a853}.op-failed{border-left-color:#d93025}.op-incomplete{border-left-color:#e37400}
.o-succeeded{background:#188038}.o-failed{background:#d93025}.o-incomplete{background:#e37400}
.operation .facts,.operation .stopped{margin:2px 0}table.steps{width:auto;margin-top:4px}
footer{color:#888;font-size:12px;margin:30px 0 10px}
)";

std::string verdict_class(report const& r) {
  auto const worst = worst_severity(r);
  if (!worst || *worst == rules::severity::info) return "v-ok";
  return *worst == rules::severity::warning ? "v-warning" : "v-error";
}

std::string badge(rules::severity s, std::string const& prefix = {}) {
  return "<span class=\"badge s-" + std::string(rules::to_string(s)) + "\">" + prefix +
         detail::severity_label(s) + "</span>";
}

std::string entry_link(std::size_t index) {
  return "<a href=\"#entry-" + std::to_string(index + 1) + "\">" + detail::entry_label(index) + "</a>";
}

void write_summary(std::string& out, report const& r) {
  out += "<header><h1>regtrace report</h1><p class=\"source\"><code>" + html_escape(r.source.file) +
         "</code> · written by " + html_escape(detail::creator_text(r.source)) + " · " +
         std::to_string(r.source.entries) + (r.source.entries == 1 ? " entry" : " entries") +
         (r.source.truncated ? " · <strong>truncated</strong>" : "") + "</p>";
  if (auto const clients = detail::clients_text(r); !clients.empty())
    out += "<p class=\"clients\">Clients: " + html_escape(clients) + "</p>";
  out += "</header>\n";
  out += "<div class=\"verdict " + verdict_class(r) + "\" id=\"verdict\">" + html_escape(r.verdict);
  out += "<div class=\"counts\">";
  for (std::size_t level = 4; level-- > 0;) {
    if (r.counts[level] > 0)
      out += badge(static_cast<rules::severity>(level), std::to_string(r.counts[level]) + " ");
  }
  out += "</div>";
  out += "</div>\n";
  if (!r.warnings.empty()) {
    out += "<ul class=\"warnings\" id=\"warnings\">";
    for (auto const& w : r.warnings) out += "<li>" + html_escape(w) + "</li>";
    out += "</ul>\n";
  }
  if (r.findings.empty()) return;
  out += "<section id=\"summary\">";
  if (!r.client_error.empty())
    out += "<h4>What the user most likely saw</h4><pre>" + html_escape(r.client_error) + "</pre>";
  if (!r.remediation.empty()) out += "<h4>Fix</h4><p>" + html_escape(r.remediation) + "</p>";
  out += "</section>\n";
}

void write_findings(std::string& out, report const& r) {
  out += "<section id=\"findings\"><h2>Findings (" + html_escape(counts_phrase(r.counts)) + ")</h2>\n";
  for (auto const& f : r.findings) {
    out += "<article class=\"finding f-" + std::string(rules::to_string(f.level)) + "\"><h3>" +
           badge(f.level) + html_escape(f.id) + " <code>" + html_escape(f.name) +
           "</code></h3><p class=\"title\">" + html_escape(f.title) + "</p>";
    if (!f.explanation.empty()) out += "<p>" + html_escape(f.explanation) + "</p>";
    if (!f.evidence.empty()) {
      out += "<h4>Evidence</h4><ul>";
      for (auto const& item : f.evidence)
        out += "<li>" + entry_link(item.entry) + " <code>" + html_escape(item.detail) + "</code></li>";
      out += "</ul>";
    }
    if (!f.client_error.empty()) out += "<h4>Client error</h4><pre>" + html_escape(f.client_error) + "</pre>";
    if (!f.remediation.empty()) out += "<h4>Fix</h4><p>" + html_escape(f.remediation) + "</p>";
    out += "</article>\n";
  }
  out += "</section>\n";
}

std::string headers_text(header_list const& headers) {
  std::string text;
  for (auto const& h : headers) text += h.name + ": " + h.value + "\n";
  return text;
}

/// The headers (and an error body) of one entry, folded away until asked for.
std::string entry_details(entry_row const& row, exchange const& x) {
  std::string out =
      "<details><summary>details</summary><dl><dt>URL</dt><dd><code>" + html_escape(row.url) + "</code></dd>";
  if (!row.started.empty()) out += "<dt>Started</dt><dd>" + html_escape(row.started) + "</dd>";
  if (!x.server_ip.empty()) out += "<dt>Server</dt><dd>" + html_escape(x.server_ip) + "</dd>";
  out += "<dt>Request headers</dt><dd><pre>" + html_escape(headers_text(x.request_headers)) + "</pre></dd>";
  if (x.status != 0) {
    out += "<dt>Response headers</dt><dd><pre>" +
           html_escape(x.response_http_version + " " + std::to_string(x.status) + " " + x.reason + "\n" +
                       headers_text(x.response_headers)) +
           "</pre></dd>";
  }
  if (x.status >= 400 && !x.response_body.text.empty()) {
    auto const& text = x.response_body.text;
    bool const cut = text.size() > body_preview_bytes;
    out += "<dt>Response body" + std::string(cut ? " (start)" : "") + "</dt><dd><pre>" +
           html_escape(std::string_view(text).substr(0, body_preview_bytes)) + "</pre></dd>";
  }
  if (!row.failure.empty()) out += "<dt>Failure</dt><dd>" + html_escape(row.failure) + "</dd>";
  return out + "</dl></details>";
}

void write_requests(std::string& out, report const& r) {
  out +=
      "<section id=\"requests\"><h2>Requests</h2><table><thead><tr><th>#</th><th>Start</th><th>Method</th>"
      "<th>Host</th><th>Path</th><th>Status</th><th>Bytes</th><th>Time</th><th>Findings</th><th></th></tr>"
      "</thead><tbody>\n";
  for (auto const& row : r.entries) {
    std::string ids;
    for (auto const& id : row.finding_ids) ids += (ids.empty() ? "" : " ") + html_escape(id);
    bool const bad = row.status == 0 || row.status >= 400;
    out += "<tr id=\"entry-" + std::to_string(row.index + 1) + "\"" +
           (row.finding_ids.empty() ? "" : " class=\"hit\"") + "><td class=\"num\">" +
           detail::entry_label(row.index) + "</td><td class=\"num\">" +
           html_escape(detail::offset_text(row.start_ms)) + "</td><td>" + html_escape(row.method) +
           "</td><td class=\"mono\">" + html_escape(row.host) + "</td><td class=\"mono path\">" +
           html_escape(row.path) + "</td><td" + (bad ? " class=\"st-bad\"" : "") + ">" +
           html_escape(detail::status_text(row)) + "</td><td class=\"num\">" +
           format_bytes(row.response_bytes) + "</td><td class=\"num\">" + format_duration_ms(row.time_ms) +
           "</td><td>" + ids + "</td><td>" + entry_details(row, r.exchanges[row.exchange]) + "</td></tr>\n";
  }
  out += "</tbody></table></section>\n";
}

}  // namespace

std::string render_html(report const& r) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      // Nothing may be fetched: the page must open offline and the trace's strings must stay text.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "img-src data:\"><link rel=\"icon\" href=\"data:,\">"
      "<title>regtrace report: " +
      html_escape(r.source.file) + "</title><style>" + style + "</style></head>\n<body>\n";
  write_summary(out, r);
  if (!r.operations.empty()) out += detail::html_operations(r);
  if (!r.findings.empty()) write_findings(out, r);
  if (!r.entries.empty()) {
    out += "<section id=\"timeline\"><h2>Timeline</h2>\n" + detail::html_timeline(r) + "</section>\n";
    write_requests(out, r);
  }
  out += "<footer>Diagnosed by regtrace " REGTRACE_VERSION
         ". Entry numbers (#1, #2, …) are positions in the HAR's log.entries.</footer>\n</body></html>\n";
  return out;
}

}  // namespace regtrace::capture::report
