// Markdown escaping for the single-trace and the fleet Markdown reports: values from a trace go into
// code spans and fenced blocks, free text is backslash-escaped, so that a header value turns into
// neither markup nor HTML (GitHub renders raw HTML in Markdown) nor breaks a table row.
#include "capture/report/render_detail.hpp"

#include "capture/text/display.hpp"

#include <algorithm>

namespace regtrace::capture::report::detail {
namespace {

// One line a terminal can show: the Markdown goes to a terminal as often as to a ticket (SPEC §8).
std::string one_line(std::string_view text) {
  return printable(text);
}

// A line that opens with "- ", "+ ", "1. ", "1) " or "===" would become a list or a heading.
std::size_t block_marker_length(std::string_view line) {
  if (!line.empty() && std::string_view("-+=").find(line.front()) != std::string_view::npos) return 1;
  auto const digits = line.find_first_not_of("0123456789");
  if (digits > 0 && digits != std::string_view::npos && (line[digits] == '.' || line[digits] == ')'))
    return digits + 1;
  return 0;
}

std::size_t longest_backtick_run(std::string_view text) {
  std::size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

}  // namespace

/// Free text with every character that Markdown (or HTML inside it) could read as syntax escaped, and
/// with nothing at its start that could open a block, wherever in a line it goes.
std::string md_text(std::string_view text) {
  auto const line = one_line(text);
  std::string_view rest = line;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // four spaces open a code block
  // "1. x" becomes "1\. x", "- x" becomes "\- x": the marker's last character escaped.
  auto const marker = block_marker_length(rest);
  auto const plain = marker > 0 ? marker - 1 : 0;
  std::string out(rest.substr(0, plain));
  if (marker > 0) out += '\\';
  for (char c : rest.substr(plain)) {
    if (std::string_view("\\`*_[]<>|#~&!").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

/// An inline code span; in_table escapes '|' as GitHub tables require even inside code.
std::string md_code(std::string_view text, bool in_table) {
  auto body = one_line(text);
  if (body.empty()) return {};
  if (in_table) {
    std::string escaped;
    for (char c : body) {
      if (c == '|') escaped += '\\';
      escaped += c;
    }
    body = std::move(escaped);
  }
  std::string const fence(longest_backtick_run(body) + 1, '`');
  bool const pad = body.front() == '`' || body.back() == '`';
  return fence + (pad ? " " : "") + body + (pad ? " " : "") + fence;
}

/// A fenced block: its content is never markup, whatever it holds, nor a terminal escape.
std::string md_block(std::string_view text) {
  auto const lines = printable(text, true);
  std::string const fence(std::max<std::size_t>(3, longest_backtick_run(lines) + 1), '`');
  return fence + "text\n" + lines + (lines.ends_with('\n') ? "" : "\n") + fence + "\n";
}

}  // namespace regtrace::capture::report::detail
