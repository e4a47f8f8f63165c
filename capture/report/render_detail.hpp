#pragma once
// Internal to the renderers: the small phrases every format shares, so they read the same everywhere.

#include "capture/report/report.hpp"

#include <string>
#include <string_view>

namespace regtrace::capture::report::detail {

/// "#4" for log.entries index 3: human formats number entries from 1, like HAR viewers.
std::string entry_label(std::size_t index);
/// "CRITICAL", "ERROR", "WARNING", "INFO".
std::string severity_label(rules::severity s);
/// "404 MANIFEST_UNKNOWN", "200", "no response (upstream_connect: connection refused)".
std::string status_text(entry_row const& row);
/// "+1.234 s" from the start of the trace.
std::string offset_text(double ms);
/// "regtrace", "mitmproxy har_dump" or "an unnamed tool", for the source line.
std::string creator_text(source_info const& s);
/// "#2, #5" for a finding's evidence entries.
std::string evidence_labels(rules::finding const& f);

/// Text for HTML content and attribute values: & < > " ' as entities, control characters as U+FFFD.
std::string html_escape(std::string_view text);
/// The SVG waterfall of the report's entries (render_html_timeline.cpp).
std::string html_timeline(report const& r);

}  // namespace regtrace::capture::report::detail
