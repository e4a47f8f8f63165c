// The HTML report: one self-contained page (inline CSS and SVG, no script, no external URL), so it
// opens from a ticket attachment without a network. Every string from the trace goes through
// html_escape, and a Content-Security-Policy forbids loading anything should one ever slip through.
#include "capture/text/display.hpp"
#include "capture/report/render.hpp"
#include "capture/report/render_detail.hpp"

namespace regtrace::capture::report {
namespace {

using detail::badge;
using detail::html_escape;

constexpr std::size_t body_preview_bytes = 4096;

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
  out += "<div class=\"verdict " + detail::verdict_class(worst_severity(r)) + "\" id=\"verdict\">" + html_escape(r.verdict);
  out += detail::counts_badges(r.counts);
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
  std::string out = detail::html_page_start("regtrace report: " + r.source.file);
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
