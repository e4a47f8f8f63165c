#include "capture/replay/diff.hpp"

#include "capture/registry/error_body.hpp"

#include <cmath>
#include <set>

namespace regtrace::capture::replay {
namespace {

std::string header_or_none(header_list const& headers, std::string_view name) {
  auto const* value = find_header(headers, name);
  return value ? *value : std::string("(none)");
}

std::string error_code(exchange const& x) {
  if (x.status < 400) return {};
  auto const* type = find_header(x.response_headers, "Content-Type");
  auto const body = registry::parse_error_body(x.response_body.text, type ? *type : std::string_view{});
  for (auto const& e : body.errors)
    if (!e.code.empty()) return e.code;
  return body.vendor_code;
}

std::string status_text(exchange const& x) {
  if (x.status == 0) return x.failure ? "no answer (" + x.failure->message + ")" : std::string("no answer");
  auto code = error_code(x);
  return std::to_string(x.status) + (code.empty() ? std::string{} : " " + code);
}

// "https://s.example/blob?sig=..." → "s.example": the storage host matters, its signature does not.
std::string location_host(header_list const& headers) {
  auto const* location = find_header(headers, "Location");
  if (!location) return "(none)";
  auto start = location->find("://");
  if (start == std::string::npos) return "(same host)";
  start += 3;
  return location->substr(start, location->find_first_of("/?#", start) - start);
}

}  // namespace

request_diff compare(exchange const& recorded, std::size_t recorded_entry, exchange const& now) {
  request_diff diff{recorded_entry, recorded.method, recorded.url(), recorded.status, now.status, {}};
  auto const before = status_text(recorded);
  auto const after = status_text(now);
  if (before != after) diff.changes.push_back("status " + before + " → " + after);
  for (char const* name : {"Docker-Content-Digest", "Content-Type", "Content-Length"}) {
    auto const old_value = header_or_none(recorded.response_headers, name);
    auto const new_value = header_or_none(now.response_headers, name);
    if (old_value != new_value) diff.changes.push_back(std::string(name) + " " + old_value + " → " + new_value);
  }
  if (auto const a = location_host(recorded.response_headers), b = location_host(now.response_headers); a != b)
    diff.changes.push_back("Location host " + a + " → " + b);
  // Bodies compare only when both were recorded whole (a HEAD or an aborted body has no digest).
  bool const both_bodies = recorded.response_body.complete && now.response_body.complete &&
                           !recorded.response_body.sha256.empty() && !now.response_body.sha256.empty();
  if (both_bodies && recorded.response_body.sha256 != now.response_body.sha256)
    diff.changes.push_back("body sha256:" + recorded.response_body.sha256.substr(0, 12) + "… (" +
                           std::to_string(recorded.response_body.bytes) + " B) → sha256:" +
                           now.response_body.sha256.substr(0, 12) + "… (" + std::to_string(now.response_body.bytes) +
                           " B)");
  double const old_wait = recorded.timings.wait;
  double const new_wait = now.timings.wait;
  if (old_wait >= 0 && new_wait >= 0 && std::fabs(new_wait - old_wait) > 100 &&
      (new_wait > 2 * old_wait || old_wait > 2 * new_wait)) {
    char line[96];
    std::snprintf(line, sizeof line, "time to first byte %.0f ms → %.0f ms", old_wait, new_wait);
    diff.changes.emplace_back(line);
  }
  return diff;
}

findings_diff compare_findings(std::vector<rules::finding> const& recorded,
                               std::vector<rules::finding> const& now) {
  std::set<std::string> before, after;
  for (auto const& f : recorded) before.insert(f.id);
  for (auto const& f : now) after.insert(f.id);
  findings_diff diff;
  for (auto const& f : now)
    if (!before.contains(f.id)) diff.appeared.push_back(f);
  for (auto const& f : recorded)
    if (!after.contains(f.id)) diff.disappeared.push_back(f);
  return diff;
}

}  // namespace regtrace::capture::replay
