// The terminal report: verdict first, then what the user saw and the fix, the findings, the requests.
#include "capture/text/display.hpp"
#include "capture/report/render.hpp"
#include "capture/report/render_detail.hpp"

#include <algorithm>
#include <array>

namespace regtrace::capture::report {
namespace {

using detail::painter;
using rules::severity;

/// Display width of UTF-8 text: continuation bytes take no column.
std::size_t width_of(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void block(std::string& out, std::string_view heading, std::string_view text, painter const& paint) {
  if (text.empty()) return;
  out += paint("1", heading) + "\n  " + printable(text) + "\n";
}

void write_findings(std::string& out, report const& r, painter const& paint) {
  out += "\n" + paint("1", "Findings (" + counts_phrase(r.counts) + ")") + "\n";
  for (auto const& f : r.findings) {
    out += "\n  " + paint.level(f.level, "[" + detail::severity_label(f.level) + "]") + " " +
           paint("1", printable(f.id + " " + f.name)) + ": " + printable(f.title) + "\n";
    if (!f.explanation.empty()) out += "    " + printable(f.explanation) + "\n";
    if (!f.evidence.empty()) out += "    Evidence:\n";
    for (auto const& item : f.evidence)
      out += "      " + detail::entry_label(item.entry) + " " + printable(item.detail) + "\n";
    if (!f.client_error.empty()) out += "    Client error: " + printable(f.client_error) + "\n";
    if (!f.remediation.empty()) out += "    Fix: " + printable(f.remediation) + "\n";
  }
}

/// A short block per operation: what, how it ended and where, what it moved; then who and which entries.
void write_operations(std::string& out, report const& r, painter const& paint) {
  static constexpr std::array<std::string_view, 3> codes{"32", "31", "33"};  // succeeded, failed, incomplete
  out += "\n" + paint("1", "Operations") + "\n";
  for (auto const& op : r.operations) {
    auto const amounts = detail::operation_amounts(op);
    out += "  " + printable(op.title) + " — " +
           paint(codes[static_cast<std::size_t>(op.outcome)], std::string(to_string(op.outcome))) + " " +
           printable(detail::operation_detail(r, op)) + (amounts.empty() ? "" : "; " + amounts) + "\n";
    std::string facts = op.client.empty() ? "unknown client" : printable(op.client);
    facts += "; " + detail::operation_requests(op);
    if (!op.finding_ids.empty()) facts += "; findings: " + printable(join(op.finding_ids));
    out += "    " + paint("2", facts) + "\n";
  }
}

void write_requests(std::string& out, report const& r, painter const& paint) {
  out += "\n" + paint("1", "Requests") + "\n";
  std::vector<std::array<std::string, 8>> rows;
  rows.push_back({"#", "start", "method", "host", "path", "status", "bytes", "time"});
  for (auto const& row : r.entries) {
    std::string findings;
    for (auto const& id : row.finding_ids) findings += " [" + id + "]";
    rows.push_back({detail::entry_label(row.index), detail::offset_text(row.start_ms), printable(row.method),
                    printable(row.host), printable(row.path), printable(detail::status_text(row)),
                    format_bytes(row.response_bytes), format_duration_ms(row.time_ms) + findings});
  }
  std::array<std::size_t, 8> widths{};
  for (auto const& cells : rows)
    for (std::size_t c = 0; c < cells.size(); ++c) widths[c] = std::max(widths[c], width_of(cells[c]));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string line = " ";
    for (std::size_t c = 0; c < rows[i].size(); ++c) {
      auto const& cell = rows[i][c];
      std::string const pad(c + 1 < rows[i].size() ? widths[c] - width_of(cell) : 0, ' ');
      bool const right = c == 1 || c == 6;  // numbers line up on the right
      line += " " + (right ? pad + cell : cell + pad);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += (i == 0 ? paint("2", line) : line) + "\n";
  }
}

}  // namespace

std::string render_text(report const& r, bool colour) {
  painter const paint(colour);
  std::string out;
  out += "regtrace report: " + printable(r.source.file) + " (" + printable(detail::creator_text(r.source)) +
         ", " + std::to_string(r.source.entries) + (r.source.entries == 1 ? " entry" : " entries") +
         (r.source.truncated ? ", truncated" : "") + ")\n";
  if (auto const clients = detail::clients_text(r); !clients.empty()) out += "Clients: " + printable(clients) + "\n";
  out += paint(painter::verdict_code(worst_severity(r)), printable(r.verdict)) + "\n";
  for (auto const& w : r.warnings) out += paint("33", "warning: ") + printable(w) + "\n";
  if (!r.findings.empty()) {
    out += "\n";
    block(out, "What the user most likely saw:", r.client_error, paint);
    block(out, "Fix:", r.remediation, paint);
  }
  if (!r.operations.empty()) write_operations(out, r, paint);
  if (!r.findings.empty()) write_findings(out, r, paint);
  if (!r.entries.empty()) write_requests(out, r, paint);
  return out;
}

}  // namespace regtrace::capture::report
