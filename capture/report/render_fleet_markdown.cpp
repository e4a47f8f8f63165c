// The fleet report in Markdown, for a ticket: a table of the finding causes across traces, where
// and when each was seen, the unreadable traces, and a table of the traces. Values from the traces
// go through the same escaping as the single-trace Markdown report (render_markdown_escape.cpp).
#include "capture/report/render_detail.hpp"
#include "capture/report/render_fleet.hpp"
#include "capture/text/display.hpp"

#include <algorithm>

namespace regtrace::capture::report {
namespace {

using detail::md_code;
using detail::md_text;

void write_findings(std::string& out, fleet const& f) {
  out +=
      "\n## Findings across traces\n\n| Severity | ID | Title | Cause | Traces | Requests | First seen | "
      "Last seen |\n"
      "|---|---|---|---|---:|---:|---|---|\n";
  for (auto const& g : f.findings) {
    out += "| " + detail::severity_label(g.level) + " | " + md_code(g.id, true) + " | " + md_text(g.title) +
           " | " + md_code(g.cause, true) + " | " + std::to_string(g.traces.size()) + " | " +
           std::to_string(g.requests) + " | " + time_text(g.first_seen) + " | " + time_text(g.last_seen) +
           " |\n";
  }
  for (auto const& g : f.findings) {
    out += "\n### " + md_text(g.id + " " + g.name) + " (" + std::string(rules::to_string(g.level)) + ")\n\n";
    out += "**" + md_text(g.title) + "**\n\n";
    if (!g.cause.empty()) out += "Cause: " + md_code(g.cause) + "\n\n";
    out += "On " + std::to_string(g.traces.size()) + " of " + plural(f.traces.size(), "trace", "traces") +
           ":\n\n";
    for (auto const& o : g.traces)
      out += "- " + md_code(f.traces[o.trace].node) + ": " +
             md_text(detail::seen_text(o.requests, o.first_seen, o.last_seen)) + "\n";
    if (!g.remediation.empty()) out += "\n**Fix:** " + md_text(g.remediation) + "\n";
  }
}

void write_unreadable(std::string& out, fleet const& f) {
  out += "\n## Unreadable traces\n\n";
  for (auto const& u : f.unreadable) out += "- " + md_code(u.file) + ": " + md_text(u.reason) + "\n";
}

std::string top_findings(report const& r) {
  std::string text;
  auto const shown = std::min(r.findings.size(), detail::fleet_top_findings);
  for (std::size_t i = 0; i < shown; ++i)
    text += (i == 0 ? "" : "<br>") + md_text(detail::trace_finding_text(r.findings[i]));
  if (r.findings.size() > shown)
    text += "<br>… and " + plural(r.findings.size() - shown, "more finding", "more findings");
  return text;
}

void write_traces(std::string& out, fleet const& f) {
  out +=
      "\n## Traces\n\n| Trace | Node | Written by | Entries | Verdict | Top findings "
      "|\n|---|---|---|---:|---|---|\n";
  for (auto const& t : f.traces) {
    auto const& s = t.summary.source;
    out += "| " + md_code(t.name, true) + " | " + md_code(t.node, true) + " | " +
           md_text(detail::creator_text(s)) + " | " + std::to_string(s.entries) +
           (s.truncated ? " (truncated)" : "") + " | " + md_text(t.summary.verdict) + " | " +
           top_findings(t.summary) + " |\n";
  }
}

}  // namespace

std::string render_fleet_markdown(fleet const& f) {
  std::string out = "## regtrace fleet report: " + plural(f.traces.size(), "trace", "traces");
  if (!f.unreadable.empty()) out += ", " + std::to_string(f.unreadable.size()) + " unreadable";
  out += "\n\n**" + md_text(f.verdict) + "**\n\nDiagnosed by regtrace " REGTRACE_VERSION ".\n";
  if (!f.findings.empty()) write_findings(out, f);
  if (!f.unreadable.empty()) write_unreadable(out, f);
  if (!f.traces.empty()) write_traces(out, f);
  return out;
}

}  // namespace regtrace::capture::report
