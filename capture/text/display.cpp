// Shared by the live console and the reports, so a path or a size reads the same in both.
#include "capture/text/display.hpp"

#include <cstdio>
#include <cstdlib>

namespace regtrace::capture {

std::string format_bytes(std::uint64_t bytes) {
  static constexpr char const* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  // 1023.95 KiB would print as "1024.0 KiB": move up a unit once the rounded value reaches 1024.
  while (value >= 1023.95 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0)
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

std::string format_duration_ms(double ms) {
  char text[32];
  if (ms < 0) return "-";
  if (ms < 999.5)
    std::snprintf(text, sizeof text, "%.0f ms", ms);
  else
    std::snprintf(text, sizeof text, "%.1f s", ms / 1000);
  return text;
}

std::string shorten_target(std::string_view target, std::size_t max_width) {
  auto path = target.substr(0, target.find('?'));
  bool had_query = path.size() < target.size();
  std::string out;
  // Digests are 64 hex digits: the first 12 identify them on a console (as docker does).
  for (std::size_t i = 0; i < path.size();) {
    auto at = path.find("sha256:", i);
    if (at == std::string_view::npos) {
      out.append(path.substr(i));
      break;
    }
    out.append(path.substr(i, at - i + 7));
    auto hex_start = at + 7;
    auto hex_end = path.find_first_not_of("0123456789abcdef", hex_start);
    if (hex_end == std::string_view::npos) hex_end = path.size();
    auto hex = path.substr(hex_start, hex_end - hex_start);
    out.append(hex.substr(0, 12));
    if (hex.size() > 12) out.append("…");
    i = hex_end;
  }
  if (had_query) out.append("?…");
  if (out.size() > max_width) {
    // Cut on UTF-8 character boundaries (the "…" above is three bytes), keeping both ends.
    auto const is_continuation = [&](std::size_t i) {
      return (static_cast<unsigned char>(out[i]) & 0xC0) == 0x80;
    };
    std::size_t keep = max_width > 3 ? (max_width - 3) / 2 : 0;
    std::size_t head = keep;
    while (head > 0 && is_continuation(head)) --head;
    std::size_t tail = out.size() - keep;
    while (tail < out.size() && is_continuation(tail)) ++tail;
    out = out.substr(0, head) + "..." + out.substr(tail);
  }
  return out;
}

namespace {

// The length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629 §4: no overlong forms, no
// surrogates), or 0 when the byte starts none.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  auto const byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  auto const lead = byte(i);
  std::size_t const n = lead >= 0xC2 && lead <= 0xDF   ? 2
                        : lead >= 0xE0 && lead <= 0xEF ? 3
                        : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                       : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  auto const second = byte(i + 1);
  if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) || (lead == 0xF0 && second < 0x90) ||
      (lead == 0xF4 && second > 0x8F))
    return 0;
  return n;
}

}  // namespace

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto const u = static_cast<unsigned char>(text[i]);
    if (u < 0x80) {
      out += u == '\n'                 ? (keep_newlines ? '\n' : ' ')
             : u == '\t'               ? ' '
             : (u < 0x20 || u == 0x7f) ? '?'
                                       : text[i];
      ++i;
      continue;
    }
    // A stray byte reads as a C1 control on an 8-bit terminal, and U+0080..U+009F (C2 80..C2 9F) are
    // C1 controls on a UTF-8 one: xterm reads U+009B as CSI, as it reads ESC [.
    auto const n = utf8_length(text, i);
    bool const c1 = n == 2 && u == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
    if (n == 0 || c1)
      out += '?';
    else
      out.append(text.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::string join(std::vector<std::string> const& items, std::string_view separator) {
  std::string out;
  for (auto const& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace regtrace::capture
