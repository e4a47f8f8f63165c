#pragma once
// The four report formats (SPEC §2, §5 "Reports"). Each renders the whole report into a string; the
// command decides where it goes. Every string taken from the trace is untrusted and escaped for the
// format (terminal control characters, Markdown syntax, HTML).

#include "capture/report/report.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace regtrace::capture::report {

enum class format { text, markdown, json, html };
/// "text", "markdown" (or "md"), "json", "html"; nullopt otherwise.
std::optional<format> format_from_string(std::string_view name);

/// Terminal text; colour adds ANSI colours (the caller checks for a TTY and NO_COLOR).
std::string render_text(report const& r, bool colour);
/// GitHub-flavoured Markdown, pasteable into a ticket.
std::string render_markdown(report const& r);
/// The stable JSON document, schema "regtrace.report/1" (docs/report-json-schema.md).
nlohmann::json to_json(report const& r);
/// to_json(r), indented, with a final newline.
std::string render_json(report const& r);
/// One self-contained HTML page: inline CSS and SVG, no script, no external URL.
std::string render_html(report const& r);

/// Renders in the given format.
std::string render(report const& r, format f, bool colour);

/// The schema name written in the JSON document's "schema" member.
inline constexpr std::string_view json_schema = "regtrace.report/1";

}  // namespace regtrace::capture::report
