// The fleet report on a terminal: the verdict, each finding cause with the traces (nodes) that showed
// it and when, the traces that could not be read, then one short block per trace.
#include "capture/report/render_detail.hpp"
#include "capture/report/render_fleet.hpp"
#include "capture/text/display.hpp"

#include <algorithm>

namespace regtrace::capture::report {
namespace {

using detail::painter;

void write_findings(std::string& out, fleet const& f, painter const& paint) {
  out += "\n" + paint("1", "Findings across traces (" + counts_phrase(f.counts) + ")") + "\n";
  for (auto const& g : f.findings) {
    out += "\n  " + paint.level(g.level, "[" + detail::severity_label(g.level) + "]") + " " +
           paint("1", printable(g.id + " " + g.name)) + ": " + printable(g.title) + "\n";
    if (!g.cause.empty()) out += "    Cause: " + printable(g.cause) + "\n";
    out += "    On " + std::to_string(g.traces.size()) + " of " + plural(f.traces.size(), "trace", "traces") +
           ", " + detail::seen_text(g.requests, g.first_seen, g.last_seen) + ":\n";
    for (auto const& o : g.traces)
      out += "      " + printable(f.traces[o.trace].node) + ": " +
             detail::seen_text(o.requests, o.first_seen, o.last_seen) + "\n";
    if (!g.remediation.empty()) out += "    Fix: " + printable(g.remediation) + "\n";
  }
}

void write_unreadable(std::string& out, fleet const& f, painter const& paint) {
  out += "\n" + paint("1", "Unreadable traces") + "\n";
  for (auto const& u : f.unreadable)
    out += "  " + paint("31", printable(u.file)) + ": " + printable(u.reason) + "\n";
}

void write_traces(std::string& out, fleet const& f, painter const& paint) {
  out += "\n" + paint("1", "Traces") + "\n";
  for (auto const& t : f.traces) {
    auto const& r = t.summary;
    out += "\n  " + paint("1", printable(detail::trace_source_text(t))) + "\n";
    out += "    " + paint(painter::verdict_code(worst_severity(r)), printable(r.verdict)) + "\n";
    for (auto const& w : r.warnings) out += "    " + paint("33", "warning: ") + printable(w) + "\n";
    auto const shown = std::min(r.findings.size(), detail::fleet_top_findings);
    for (std::size_t i = 0; i < shown; ++i) {
      auto const& finding = r.findings[i];
      out += "    " + paint.level(finding.level, "[" + detail::severity_label(finding.level) + "]") + " " +
             printable(detail::trace_finding_text(finding)) + "\n";
    }
    if (r.findings.size() > shown)
      out += "    … and " + plural(r.findings.size() - shown, "more finding", "more findings") + "\n";
  }
}

}  // namespace

std::string render_fleet_text(fleet const& f, bool colour) {
  painter const paint(colour);
  std::string out = "regtrace fleet report: " + plural(f.traces.size(), "trace", "traces");
  if (!f.unreadable.empty()) out += ", " + std::to_string(f.unreadable.size()) + " unreadable";
  out += "\n" + paint(painter::verdict_code(worst_severity(f)), printable(f.verdict)) + "\n";
  if (!f.findings.empty()) write_findings(out, f, paint);
  if (!f.unreadable.empty()) write_unreadable(out, f, paint);
  if (!f.traces.empty()) write_traces(out, f, paint);
  return out;
}

std::string render(fleet const& f, format fmt, bool colour) {
  switch (fmt) {
    case format::text:
      return render_fleet_text(f, colour);
    case format::markdown:
      return render_fleet_markdown(f);
    case format::json:
      return render_fleet_json(f);
    case format::html:
      return render_fleet_html(f);
  }
  return {};
}

}  // namespace regtrace::capture::report
