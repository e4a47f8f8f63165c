// The Markdown report, for a GitHub issue or a Jira ticket. Values from the trace go into code spans
// and fenced blocks, free text is backslash-escaped: a header value must not turn into markup or
// HTML (GitHub renders raw HTML in Markdown) nor break a table row (render_markdown_escape.cpp).
#include "capture/text/display.hpp"
#include "capture/report/render.hpp"
#include "capture/report/render_detail.hpp"

#include <algorithm>

namespace regtrace::capture::report {
namespace {

using detail::md_block;
using detail::md_code;
using detail::md_text;

void write_findings(std::string& out, report const& r) {
  out += "\n## Findings\n\n| Severity | ID | Name | Title | Evidence |\n|---|---|---|---|---|\n";
  for (auto const& f : r.findings) {
    out += "| " + detail::severity_label(f.level) + " | " + md_code(f.id, true) + " | " +
           md_code(f.name, true) + " | " + md_text(f.title) + " | " + detail::evidence_labels(f) + " |\n";
  }
  for (auto const& f : r.findings) {
    out +=
        "\n### " + md_text(f.id + " " + f.name) + " (" + std::string(rules::to_string(f.level)) + ")\n\n";
    out += "**" + md_text(f.title) + "**\n\n";
    if (!f.explanation.empty()) out += md_text(f.explanation) + "\n\n";
    if (!f.evidence.empty()) {
      out += "Evidence:\n\n";
      for (auto const& item : f.evidence)
        out += "- **" + detail::entry_label(item.entry) + "** " + md_code(item.detail) + "\n";
      out += "\n";
    }
    if (!f.client_error.empty()) out += "Client error:\n\n" + md_block(f.client_error) + "\n";
    if (!f.remediation.empty()) out += "**Fix:** " + md_text(f.remediation) + "\n";
  }
}

void write_operations(std::string& out, report const& r) {
  out +=
      "\n## Operations\n\n| Operation | Client | Outcome | Time | Moved | Requests | Findings |\n"
      "|---|---|---|---:|---|---|---|\n";
  for (auto const& op : r.operations) {
    std::string outcome = "**" + std::string(to_string(op.outcome)) + "**";
    if (op.first_failure && *op.first_failure < r.entries.size()) {
      auto const& row = r.entries[*op.first_failure];
      outcome += " at " + detail::entry_label(row.index) + " " +
                 md_code(detail::failing_request_text(row, op.registry), true);
    } else if (!op.note.empty()) {
      outcome += ": " + md_text(op.note);
    }
    out += "| " + md_text(op.title) + " | " + md_code(op.client, true) + " | " + outcome + " | " +
           format_duration_ms(op.duration_ms) + " | " + detail::operation_amounts(op) + " | " +
           detail::operation_requests(op) + " | " + md_code(join(op.finding_ids), true) + " |\n";
  }
}

void write_requests(std::string& out, report const& r) {
  out +=
      "\n## Requests\n\n| # | Start | Method | Host | Path | Status | Bytes | Time | Findings |\n"
      "|---:|---:|---|---|---|---|---:|---:|---|\n";
  for (auto const& row : r.entries) {
    std::string findings;
    for (auto const& id : row.finding_ids) findings += (findings.empty() ? "" : ", ") + id;
    out += "| " + detail::entry_label(row.index) + " | " + detail::offset_text(row.start_ms) + " | " +
           md_code(row.method, true) + " | " + md_code(row.host, true) + " | " + md_code(row.path, true) +
           " | " + md_code(detail::status_text(row), true) + " | " + format_bytes(row.response_bytes) +
           " | " + format_duration_ms(row.time_ms) + " | " + md_code(findings, true) + " |\n";
  }
}

}  // namespace

std::string render_markdown(report const& r) {
  std::string out = "## regtrace report: " + md_code(r.source.file) + "\n\n";
  out += "**" + md_text(r.verdict) + "**\n\n";
  out += "Trace written by " + md_text(detail::creator_text(r.source)) + ", " +
         std::to_string(r.source.entries) + (r.source.entries == 1 ? " entry" : " entries") +
         (r.source.truncated ? " (the file is truncated)" : "") + "; diagnosed by regtrace " +
         REGTRACE_VERSION + ".\n";
  if (auto const clients = detail::clients_text(r); !clients.empty()) out += "\nClients: " + md_text(clients) + ".\n";
  if (!r.warnings.empty()) {
    out += "\n";
    for (auto const& w : r.warnings) out += "> **Warning:** " + md_text(w) + "\n>\n";
    out.resize(out.size() - 2);
  }
  if (!r.findings.empty()) {
    if (!r.client_error.empty()) out += "\n**What the user most likely saw:**\n\n" + md_block(r.client_error);
    if (!r.remediation.empty()) out += "\n**Fix:** " + md_text(r.remediation) + "\n";
  }
  if (!r.operations.empty()) write_operations(out, r);
  if (!r.findings.empty()) write_findings(out, r);
  if (!r.entries.empty()) write_requests(out, r);
  return out;
}

}  // namespace regtrace::capture::report
