// Session helpers shared by the rule groups: who the client is (catalog §0 "Session", §1.4 client
// families), how its entries relate (§7.3 correlation keys) and how an entry ended (phase, timer, peer).
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
  // Stopping regtrace (Ctrl-C) cuts a connection attempt short: that says nothing about the host.
  if (failed_with(x, errc::proxy_stopped)) return false;
  // regtrace answers such an exchange itself (502/504) and records where it failed.
  bool const no_upstream_answer = x.status == 0 || x.generated_response;
  return no_upstream_answer && (failed_in(x, phase::resolve) || failed_in(x, phase::upstream_connect) ||
                                failed_in(x, phase::upstream_tls));
}

bool failed_in(exchange const& x, phase where) {
  return x.failure && x.failure->where == where;
}

bool idle_timed_out(exchange const& x) {
  // Beast's error::timeout (value 1 in category "boost.beast"): the relay's per-chunk idle timer.
  constexpr int beast_timeout = 1;
  bool const relay_timer =
      x.failure && x.failure->code_category == "boost.beast" && x.failure->code_value == beast_timeout;
  return relay_timer || failed_with(x, errc::upstream_timeout) || failed_with(x, errc::client_timeout);
}

failing_peer stopped_by(exchange const& x) {
  return x.failure ? x.failure->peer : failing_peer::unknown;
}

client_family client_of(entry_facts const& e) {
  auto const* ua = e.request_header("User-Agent");
  if (ua == nullptr) return client_family::other;
  auto const agent = to_lower(*ua);
  auto const has = [&](std::string_view name) { return agent.find(name) != std::string::npos; };
  // dockerd names itself first even when it embeds containerd's resolver (containerd image store).
  if (agent.starts_with("docker/") || has(" docker/")) return client_family::docker;
  if (has("containerd/")) return client_family::containerd;
  for (std::string_view name : {"skopeo", "containers/", "podman", "buildah", "cri-o"})
    if (has(name)) return client_family::containers_image;
  if (agent.starts_with("curl/")) return client_family::curl;
  return client_family::other;
}

std::string pick_client_text(client_family c, std::string docker, std::string containerd,
                             std::string containers_image) {
  if (c == client_family::containerd) return containerd;
  if (c == client_family::containers_image) return containers_image;
  return docker;
}

std::string user_agent_of(entry_facts const& e) {
  auto const* ua = e.request_header("User-Agent");
  return ua == nullptr ? std::string() : *ua;
}

}  // namespace regtrace::capture::rules::detail
