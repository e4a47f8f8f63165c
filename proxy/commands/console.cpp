#include "proxy/commands/console.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace regtrace::proxy {

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
  // A replayed entry's method, target and failure detail come from a trace: hostile input (SPEC §8).
  return capture::printable(line);
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
  return capture::printable(line + rate);
}

void console_totals::add(capture::exchange const& x) {
  ++exchanges;
  if (x.failure || x.status == 0) ++failed;
  if (capture::failed_with(x, capture::errc::proxy_stopped)) ++cut_by_stop;
  bytes_up += x.request_body.bytes;
  bytes_down += x.response_body.bytes;
}

bool console_totals::add(capture::rules::finding const& f) {
  auto known =
      std::ranges::find_if(seen, [&](seen_finding const& s) { return s.id == f.id && s.cause == f.cause; });
  bool const first = known == seen.end();
  if (first) {
    known = seen.insert(seen.end(), {f.id, f.cause, f.name, f.level, f.title, 0});
  } else {
    --findings[static_cast<std::size_t>(known->level)];
    known->level = f.level;
    known->name = f.name;
    known->title = f.title;
  }
  ++findings[static_cast<std::size_t>(known->level)];
  known->count = std::max(known->count, capture::rules::times_seen(f));
  return first;
}

namespace {

std::string upper_level(capture::rules::severity level) {
  std::string text(capture::rules::to_string(level));
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string times(std::size_t n) {
  return n == 1 ? "once" : std::to_string(n) + " times";
}

}  // namespace

std::string format_finding_line(capture::rules::finding const& f) {
  std::string line = "  !! " + f.id + " " + upper_level(f.level) + " " + f.name + ": " + f.title;
  if (!f.evidence.empty()) {
    line += " [entry " + std::to_string(f.evidence.front().entry + 1);
    if (auto const n = capture::rules::times_seen(f); n > 1) line += ", seen " + times(n);
    line += "]";
  }
  if (!f.remediation.empty()) {
    // The first sentence of the fix is enough on a console line; the report has the rest.
    auto end = f.remediation.find(". ");
    line += " Fix: " + f.remediation.substr(0, end == std::string::npos ? std::string::npos : end + 1);
  }
  return capture::printable(line);  // titles quote the trace
}

std::string format_summary(console_totals const& totals) {
  std::string line = std::to_string(totals.exchanges) + " exchanges (" + std::to_string(totals.failed) +
                     " failed" +
                     (totals.cut_by_stop ? ", " + std::to_string(totals.cut_by_stop) +
                                               " in flight when regtrace stopped, written as incomplete entries"
                                         : std::string{}) +
                     "), " + format_bytes(totals.bytes_up) + " sent, " + format_bytes(totals.bytes_down) + " received";
  static constexpr char const* names[] = {"info", "warning", "error", "critical"};
  std::string counts;
  for (int level = 3; level >= 0; --level) {
    if (totals.findings[level] == 0) continue;
    if (!counts.empty()) counts += ", ";
    counts += std::to_string(totals.findings[level]) + " " + names[level];
  }
  return line + "; findings: " + (counts.empty() ? std::string("none") : counts);
}

std::vector<std::string> format_seen_findings(console_totals const& totals) {
  std::vector<seen_finding const*> order;
  for (auto const& s : totals.seen) order.push_back(&s);
  std::ranges::stable_sort(order, std::greater{}, &seen_finding::level);
  std::vector<std::string> lines;
  for (auto const* s : order)
    lines.push_back(capture::printable("  " + s->id + " " + upper_level(s->level) + " " + s->name + ": " +
                                       s->title + ", seen " + times(s->count)));
  return lines;
}

bool stdout_wants_colour() {
  char const* no_color = std::getenv("NO_COLOR");
  return isatty(STDOUT_FILENO) == 1 && (no_color == nullptr || *no_color == '\0');
}

}  // namespace regtrace::proxy
