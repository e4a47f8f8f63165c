#pragma once
// The four formats of the fleet report (issue 15): the findings grouped by cause across the traces,
// the traces that could not be read, then each trace's summary; JSON adds each trace's whole report.
// Every string from a trace is escaped for the format, as in the single-trace renderers.

#include "capture/report/fleet.hpp"
#include "capture/report/render.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace regtrace::capture::report {

/// Terminal text; colour adds ANSI colours (the caller checks for a TTY and NO_COLOR).
std::string render_fleet_text(fleet const& f, bool colour);
/// GitHub-flavoured Markdown, pasteable into a ticket.
std::string render_fleet_markdown(fleet const& f);
/// The JSON document, schema "regtrace.fleet-report/1" (README, "regtrace report"):
/// {schema, generator, fleet: {verdict, worst_severity, counts, traces, unreadable, findings},
///  reports: [each readable trace's "regtrace.report/1" document, in fleet.traces order]}.
nlohmann::json to_json(fleet const& f);
/// to_json(f), indented, with a final newline.
std::string render_fleet_json(fleet const& f);
/// One self-contained HTML page, as render_html's.
std::string render_fleet_html(fleet const& f);

/// Renders in the given format.
std::string render(fleet const& f, format fmt, bool colour);

/// The schema name written in the fleet JSON document's "schema" member.
inline constexpr std::string_view fleet_json_schema = "regtrace.fleet-report/1";

}  // namespace regtrace::capture::report
