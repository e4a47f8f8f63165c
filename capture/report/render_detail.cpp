#include "capture/report/render_detail.hpp"

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

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
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
