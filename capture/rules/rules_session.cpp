// Session helpers shared by the sequence rules (catalog §0 "Session", §7.3 correlation keys).
#include "capture/rules/rules_detail.hpp"

#include <algorithm>
#include <cmath>

namespace regtrace::capture::rules::detail {
namespace {

// Catalog §0: sessions are evaluated within a sliding window of about 120 s.
constexpr double session_window_seconds = 120;

// "127.0.0.1:51234" → "127.0.0.1", "[::1]:5000" → "::1"; a bare IPv6 address stays whole.
std::string_view client_ip(std::string_view address) {
  if (address.starts_with('[')) return address.substr(1, address.find(']') - 1);
  auto const colon = address.find(':');
  if (colon != std::string_view::npos && address.find(':', colon + 1) == std::string_view::npos)
    return address.substr(0, colon);
  return address;
}

}  // namespace

bool same_client(entry_facts const& a, entry_facts const& b) {
  if (std::fabs(seconds_between(a, b)) > session_window_seconds) return false;
  auto const& left = a.x->client_address;
  auto const& right = b.x->client_address;
  return left.empty() || right.empty() || client_ip(left) == client_ip(right);
}

std::string normalize_url(std::string_view url) {
  auto const sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  auto const path_start = std::min(url.find_first_of("/?#", sep + 3), url.size());
  auto head = to_lower(url.substr(0, path_start));
  if (head.starts_with("https://") && head.ends_with(":443")) head.resize(head.size() - 4);
  if (head.starts_with("http://") && head.ends_with(":80")) head.resize(head.size() - 3);
  auto const rest = url.substr(path_start);
  if (rest.empty() || rest.front() != '/') head += '/';
  return head.append(rest);
}

bool host_unreachable(exchange const& x) {
  if (x.kind == entry_kind::connect_failed) return true;
  // regtrace answers such an exchange itself (502/504) and records where it failed.
  bool const no_upstream_answer = x.status == 0 || x.generated_response;
  return no_upstream_answer && x.failure &&
         (x.failure->where == phase::resolve || x.failure->where == phase::upstream_connect ||
          x.failure->where == phase::upstream_tls);
}

}  // namespace regtrace::capture::rules::detail
