// The fleet report as one self-contained HTML page, with the single-trace page's head, style and
// badges (render_html_page.cpp): the verdict, one card per finding cause with a table of the traces
// that showed it, the unreadable traces, then one card per trace. Every trace string is escaped.
#include "capture/report/render_detail.hpp"
#include "capture/report/render_fleet.hpp"
#include "capture/text/display.hpp"

#include <algorithm>

namespace regtrace::capture::report {
namespace {

using detail::badge;
using detail::counts_badges;
using detail::html_escape;

// The trace cards, beyond the single-trace page's style.
constexpr std::string_view fleet_style =
    ".trace{border:1px solid #ddd;border-radius:4px;padding:8px 14px;margin:10px 0}"
    ".trace .verdict{font-size:14px;margin:6px 0}\n";

std::string occurrences_table(fleet const& f, fleet_finding const& g) {
  std::string out =
      "<table><thead><tr><th>Trace</th><th>Node</th><th>Requests</th><th>First seen</th><th>Last seen</th>"
      "</tr></thead><tbody>";
  for (auto const& o : g.traces) {
    auto const& t = f.traces[o.trace];
    out += "<tr><td><a href=\"#trace-" + std::to_string(o.trace + 1) + "\">" + html_escape(t.name) +
           "</a></td><td class=\"mono\">" + html_escape(t.node) + "</td><td class=\"num\">" +
           std::to_string(o.requests) + "</td><td>" + time_text(o.first_seen) + "</td><td>" +
           time_text(o.last_seen) + "</td></tr>";
  }
  return out + "</tbody></table>";
}

void write_findings(std::string& out, fleet const& f) {
  out += "<section id=\"findings\"><h2>Findings across traces (" + html_escape(counts_phrase(f.counts)) +
         ")</h2>\n";
  for (auto const& g : f.findings) {
    out += "<article class=\"finding f-" + std::string(rules::to_string(g.level)) + "\"><h3>" +
           badge(g.level) + html_escape(g.id) + " <code>" + html_escape(g.name) +
           "</code></h3><p class=\"title\">" + html_escape(g.title) + "</p>";
    if (!g.cause.empty()) out += "<p>Cause: <code>" + html_escape(g.cause) + "</code></p>";
    out += "<p>On " + std::to_string(g.traces.size()) + " of " + plural(f.traces.size(), "trace", "traces") +
           ", " + html_escape(detail::seen_text(g.requests, g.first_seen, g.last_seen)) + "</p>" +
           occurrences_table(f, g);
    if (!g.remediation.empty()) out += "<h4>Fix</h4><p>" + html_escape(g.remediation) + "</p>";
    out += "</article>\n";
  }
  out += "</section>\n";
}

void write_unreadable(std::string& out, fleet const& f) {
  out += "<section id=\"unreadable\"><h2>Unreadable traces</h2><ul class=\"warnings\">";
  for (auto const& u : f.unreadable)
    out += "<li><code>" + html_escape(u.file) + "</code>: " + html_escape(u.reason) + "</li>";
  out += "</ul></section>\n";
}

void write_trace(std::string& out, fleet_trace const& t, std::size_t number) {
  auto const& r = t.summary;
  out += "<article class=\"trace\" id=\"trace-" + std::to_string(number) + "\"><h3>" + html_escape(t.name) +
         "</h3><p class=\"source\">node <code>" + html_escape(t.node) + "</code> · written by " +
         html_escape(detail::creator_text(r.source)) + " · " + plural(r.source.entries, "entry", "entries") +
         (r.source.truncated ? " · <strong>truncated</strong>" : "") + "</p>";
  out += "<div class=\"verdict " + detail::verdict_class(worst_severity(r)) + "\">" + html_escape(r.verdict) +
         counts_badges(r.counts) + "</div>";
  if (!r.warnings.empty()) {
    out += "<ul class=\"warnings\">";
    for (auto const& w : r.warnings) out += "<li>" + html_escape(w) + "</li>";
    out += "</ul>";
  }
  auto const shown = std::min(r.findings.size(), detail::fleet_top_findings);
  if (shown > 0) out += "<ul>";
  for (std::size_t i = 0; i < shown; ++i)
    out += "<li>" + badge(r.findings[i].level) + html_escape(detail::trace_finding_text(r.findings[i])) +
           "</li>";
  if (r.findings.size() > shown)
    out += "<li>… and " + plural(r.findings.size() - shown, "more finding", "more findings") + "</li>";
  if (shown > 0) out += "</ul>";
  out += "</article>\n";
}

}  // namespace

std::string render_fleet_html(fleet const& f) {
  std::string out = detail::html_page_start(
      "regtrace fleet report: " + plural(f.traces.size(), "trace", "traces"), fleet_style);
  out += "<header><h1>regtrace fleet report</h1><p class=\"source\">" +
         plural(f.traces.size(), "trace", "traces") +
         (f.unreadable.empty() ? "" : " · " + std::to_string(f.unreadable.size()) + " unreadable") +
         "</p></header>\n";
  out += "<div class=\"verdict " + detail::verdict_class(worst_severity(f)) + "\" id=\"verdict\">" +
         html_escape(f.verdict) + counts_badges(f.counts) + "</div>\n";
  if (!f.findings.empty()) write_findings(out, f);
  if (!f.unreadable.empty()) write_unreadable(out, f);
  out += "<section id=\"traces\"><h2>Traces</h2>\n";
  for (std::size_t i = 0; i < f.traces.size(); ++i) write_trace(out, f.traces[i], i + 1);
  out += "</section>\n<footer>Diagnosed by regtrace " REGTRACE_VERSION
         ". Findings are grouped by catalog ID and cause; times are the requests' startedDateTime "
         "(UTC).</footer>\n"
         "</body></html>\n";
  return out;
}

}  // namespace regtrace::capture::report
