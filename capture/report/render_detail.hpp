#pragma once
// Internal to the renderers: the small phrases every format shares, so they read the same everywhere.

#include "capture/report/fleet.hpp"
#include "capture/report/report.hpp"

#include <array>
#include <optional>
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

/// How many of a trace's findings the fleet report's trace summaries list.
inline constexpr std::size_t fleet_top_findings = 3;
/// "node-a.har (WebInspector, 4 entries, truncated)": a fleet trace's source line.
std::string trace_source_text(fleet_trace const& t);
/// "2 requests, 2024-05-06T07:08:09.290Z to 2024-05-06T08:00:00.000Z", "1 request at …": how often
/// and when one cause was seen, in one trace or over all.
std::string seen_text(std::size_t requests, std::optional<time_point> first, std::optional<time_point> last);
/// "C-01: <title> (1 request)": a trace's finding in its summary, with the requests that showed it.
std::string trace_finding_text(rules::finding const& f);

/// ANSI colours for the terminal report, or none (no TTY, NO_COLOR): paint(code, text).
class painter {
 public:
  explicit painter(bool on) : on_(on) {}
  std::string operator()(std::string_view code, std::string_view text) const {
    if (!on_) return std::string(text);
    return "\x1b[" + std::string(code) + "m" + std::string(text) + "\x1b[0m";
  }
  /// text in the colour of severity s.
  std::string level(rules::severity s, std::string_view text) const {
    static constexpr std::array<std::string_view, 4> codes{"36", "33", "31", "1;31"};
    return (*this)(codes[static_cast<std::size_t>(s)], text);
  }
  /// The verdict's colour for the worst severity: green, yellow or red.
  static std::string_view verdict_code(std::optional<rules::severity> worst) {
    if (!worst || *worst == rules::severity::info) return "1;32";
    return *worst >= rules::severity::error ? "1;31" : "1;33";
  }

 private:
  bool on_;
};

/// Markdown free text: every character Markdown (or HTML in it) could read as syntax escaped, nothing
/// at its start that could open a block, terminal controls replaced (render_markdown_escape.cpp).
std::string md_text(std::string_view text);
/// A Markdown inline code span, "" for ""; in_table escapes '|' as GitHub tables require even in code.
std::string md_code(std::string_view text, bool in_table = false);
/// A fenced Markdown block: its content is never markup, whatever it holds, nor a terminal escape.
std::string md_block(std::string_view text);

/// Text for HTML content and attribute values: & < > " ' as entities, control characters (C0 but tab,
/// newline and CR; DEL; C1) as U+FFFD.
std::string html_escape(std::string_view text);
/// "<!DOCTYPE html>…<body>": the head with the inline style and a Content-Security-Policy that
/// forbids loading anything (render_html_page.cpp); extra_style is appended to the style sheet.
std::string html_page_start(std::string_view title, std::string_view extra_style = {});
/// A severity badge, "<span class=\"badge s-error\">2 ERROR</span>" for prefix "2 ".
std::string badge(rules::severity s, std::string const& prefix = {});
/// '<div class="counts">' with a badge per severity that has a count ("2 ERROR"), most severe first.
std::string counts_badges(severity_counts const& counts);
/// The verdict box's class for the worst severity: "v-ok", "v-warning" or "v-error".
std::string verdict_class(std::optional<rules::severity> worst);
/// The SVG waterfall of the report's entries (render_html_timeline.cpp).
std::string html_timeline(report const& r);
/// The operations section (render_html_operations.cpp).
std::string html_operations(report const& r);

}  // namespace regtrace::capture::report::detail
