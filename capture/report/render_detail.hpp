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
/// "Docker Engine 20.10.24 (42 requests), curl 7.88.1 (1 request)", "" when no request named its client.
std::string clients_text(report const& r);
/// "#2, #5" for a finding's evidence entries.
std::string evidence_labels(rules::finding const& f);

/// "GET /v2/team/app/blobs/sha256:abcdef012345… 404 BLOB_UNKNOWN": the request an operation failed
/// at, its host named when it is not the operation's registry (a token or storage request).
std::string failing_request_text(entry_row const& row, std::string_view registry);
/// "after 2.3 s at #7 GET … 404 BLOB_UNKNOWN", "in 1.2 s", "after 0.4 s: the trace ends before the
/// manifest PUT": what follows the outcome word.
std::string operation_detail(report const& r, operation const& op);
/// "3 of 4 layers, 12.1 MiB" for a pull or push ("2 of 2 blobs" when no manifest says which are
/// layers); "" for a login or another read.
std::string operation_amounts(operation const& op);
/// "#1 to #15 (9 requests)".
std::string operation_requests(operation const& op);

/// Text for HTML content and attribute values: & < > " ' as entities, control characters (C0 but tab,
/// newline and CR; DEL; C1) as U+FFFD.
std::string html_escape(std::string_view text);
/// The SVG waterfall of the report's entries (render_html_timeline.cpp).
std::string html_timeline(report const& r);
/// The operations section (render_html_operations.cpp).
std::string html_operations(report const& r);

}  // namespace regtrace::capture::report::detail
