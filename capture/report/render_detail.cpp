#include "capture/report/render_detail.hpp"

#include "capture/text/display.hpp"

#include <algorithm>
#include <cstdio>

namespace regtrace::capture::report::detail {

std::string entry_label(std::size_t index) {
  return "#" + std::to_string(index + 1);
}

std::string severity_label(rules::severity s) {
  std::string label(rules::to_string(s));
  for (auto& c : label) c = static_cast<char>(c - 'a' + 'A');
  return label;
}

std::string status_text(entry_row const& row) {
  if (row.status == 0) return row.failure.empty() ? "no response" : "no response (" + row.failure + ")";
  auto text = std::to_string(row.status);
  if (!row.error_code.empty()) text += " " + row.error_code;
  return text;
}

std::string offset_text(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "+%.3f s", ms / 1000);
  return text;
}

std::string clients_text(report const& r) {
  std::string text;
  for (auto const& c : r.clients) {
    if (!text.empty()) text += ", ";
    text += c.runtime.label + " (" + std::to_string(c.requests) + (c.requests == 1 ? " request)" : " requests)");
  }
  return text;
}

std::string creator_text(source_info const& s) {
  return s.creator.empty() ? std::string("an unnamed tool") : s.creator;
}

std::string evidence_labels(rules::finding const& f) {
  std::string out;
  for (auto const& item : f.evidence) {
    if (!out.empty()) out += ", ";
    out += entry_label(item.entry);
  }
  return out;
}

std::string failing_request_text(entry_row const& row, std::string_view registry) {
  std::string text =
      row.method + " " + (row.host == registry ? "" : row.host) + row.path + " " + status_text(row);
  // An answer cut short has a status and a failure: say both.
  if (row.status != 0 && !row.failure.empty()) text += " (" + row.failure + ")";
  return text;
}

std::string operation_detail(report const& r, operation const& op) {
  auto const time = format_duration_ms(op.duration_ms);
  if (op.outcome == operation_outcome::succeeded) return "in " + time;
  if (op.first_failure && *op.first_failure < r.entries.size()) {
    auto const& row = r.entries[*op.first_failure];
    return "after " + time + " at " + entry_label(row.index) + " " + failing_request_text(row, op.registry);
  }
  return "after " + time + (op.note.empty() ? "" : ": " + op.note);
}

std::string operation_amounts(operation const& op) {
  if (op.kind != operation_kind::pull && op.kind != operation_kind::push) return {};
  auto const of = [](std::size_t done, std::size_t total, std::string const& what) {
    return std::to_string(done) + " of " + std::to_string(total) + " " + what + (total == 1 ? "" : "s") +
           ", ";
  };
  std::string text;
  if (op.layers > 0)
    text = of(op.layers_completed, op.layers, "layer");
  else if (op.blobs > 0)
    text = of(op.blobs_completed, op.blobs, "blob");
  return text + format_bytes(op.bytes);
}

std::string operation_requests(operation const& op) {
  if (op.steps.empty()) return {};
  auto const [first, last] = std::ranges::minmax(op.steps, {}, &operation_step::entry);
  auto const count = std::to_string(op.steps.size()) + (op.steps.size() == 1 ? " request" : " requests");
  if (first.entry == last.entry) return entry_label(first.entry) + " (" + count + ")";
  return entry_label(first.entry) + " to " + entry_label(last.entry) + " (" + count + ")";
}

std::string trace_source_text(fleet_trace const& t) {
  auto const& s = t.summary.source;
  // The node the trace says recorded it, when its file name does not already say so.
  bool const named = !s.node.empty() && !t.name.starts_with(s.node);
  auto const node = named ? "node " + s.node + ", " : std::string();
  return t.name + " (" + node + creator_text(s) + ", " + plural(s.entries, "entry", "entries") +
         (s.truncated ? ", truncated" : "") + ")";
}

std::string seen_text(std::size_t requests, std::optional<time_point> first, std::optional<time_point> last) {
  auto text = plural(requests, "request", "requests");
  if (!first || !last) return text;
  if (*first == *last) return text + " at " + time_text(first);
  return text + ", " + time_text(first) + " to " + time_text(last);
}

std::string trace_finding_text(rules::finding const& f) {
  return f.id + ": " + f.title + " (" + plural(rules::times_seen(f), "request", "requests") + ")";
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char const c = text[i];
    // U+0080..U+009F (C2 80..C2 9F) are C1 controls, forbidden in HTML as C0 ones are.
    if (c == '\xC2' && i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0x80) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default: {
        auto const u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f)
          out += "\xEF\xBF\xBD";  // U+FFFD: HTML forbids these characters
        else
          out += c;
      }
    }
  }
  return out;
}

}  // namespace regtrace::capture::report::detail
