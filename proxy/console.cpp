#include "proxy/console.hpp"

#include <cctype>

#include <cstdio>

namespace regtrace::proxy {

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

std::string format_exchange_line(capture::exchange const& x) {
  std::string line = "[c" + std::to_string(x.connection_id) + " r" + std::to_string(x.request_index) + "] ";
  std::string const host = x.authority();
  switch (x.kind) {
    case capture::entry_kind::tunnel:
      line += "CONNECT " + host + " tunnel " + format_bytes(x.request_body.bytes) + " up, " +
              format_bytes(x.response_body.bytes) + " down " + format_duration_ms(x.total_ms());
      break;
    case capture::entry_kind::connect_failed:
    case capture::entry_kind::client_tls_rejected:
      line += "CONNECT " + host + (x.status ? " " + std::to_string(x.status) : std::string(" -"));
      break;
    case capture::entry_kind::exchange:
      line += x.method + " " + host + " " + shorten_target(x.target) + " " +
              (x.status ? std::to_string(x.status) : std::string("-")) + " " +
              format_bytes(x.response_body.bytes) + " " + format_duration_ms(x.total_ms());
      break;
  }
  if (x.failure)
    line += "  ! " + std::string(capture::to_string(x.failure->where)) + ": " + x.failure->detail;
  if (x.failure && !x.failure->message.empty() &&
      x.failure->detail.find(x.failure->message) == std::string::npos)
    line += " (" + x.failure->message + ")";
  for (auto const& id : x.finding_ids) line += " [" + id + "]";
  return line;
}

std::string format_progress_line(capture::exchange const& x, std::uint64_t bytes, std::uint64_t total,
                                 double seconds) {
  std::string line = "[c" + std::to_string(x.connection_id) + " r" + std::to_string(x.request_index) + "] " +
                     x.method + " " + x.authority() + " " + shorten_target(x.target) + " " +
                     format_bytes(bytes);
  if (total > 0) line += " of " + format_bytes(total) + " (" + std::to_string(bytes * 100 / total) + "%)";
  char rate[32];
  std::snprintf(rate, sizeof rate, ", %.1f MB/s",
                seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0);
  return line + rate;
}

void console_totals::add(capture::exchange const& x) {
  ++exchanges;
  if (x.failure || x.status == 0) ++failed;
  bytes_up += x.request_body.bytes;
  bytes_down += x.response_body.bytes;
}

void console_totals::add(capture::registry::finding const& f) {
  ++findings[static_cast<std::size_t>(f.level)];
}

std::string format_finding_line(capture::registry::finding const& f) {
  std::string level(capture::registry::to_string(f.level));
  for (auto& c : level) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string line = "  !! " + f.id + " " + level + " " + f.name + ": " + f.title;
  if (!f.evidence.empty()) line += " [entry " + std::to_string(f.evidence.front().entry + 1) + "]";
  if (!f.remediation.empty()) {
    // The first sentence of the fix is enough on a console line; the report has the rest.
    auto end = f.remediation.find(". ");
    line += " Fix: " + f.remediation.substr(0, end == std::string::npos ? std::string::npos : end + 1);
  }
  return line;
}

std::string format_summary(console_totals const& totals) {
  std::string line = std::to_string(totals.exchanges) + " exchanges (" + std::to_string(totals.failed) +
                     " failed), " + format_bytes(totals.bytes_up) + " sent, " + format_bytes(totals.bytes_down) +
                     " received";
  static constexpr char const* names[] = {"info", "warning", "error", "critical"};
  std::string counts;
  for (int level = 3; level >= 0; --level) {
    if (totals.findings[level] == 0) continue;
    if (!counts.empty()) counts += ", ";
    counts += std::to_string(totals.findings[level]) + " " + names[level];
  }
  return line + "; findings: " + (counts.empty() ? std::string("none") : counts);
}

}  // namespace regtrace::proxy
