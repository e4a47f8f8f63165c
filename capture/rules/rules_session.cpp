// Session helpers shared by the rule groups: who the client is (catalog §0 "Session", §1.4 client
// families), how its entries relate (§7.3 correlation keys), how an entry ended (phase, timer, peer),
// and the one answer to "did the client recover from this failure" (issue 12).
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

// The answer gave the client what it asked for: 2xx or 3xx, and a GET's body came whole.
bool answered_whole(entry_facts const& e) {
  return succeeded(e) && (e.x->method != "GET" || e.x->response_body.complete);
}

// later asks for what failed asked for: the same method (GET and HEAD alike) and URL, or the same
// digest of the same repository through another URL (any host: a digest names the content), or the
// same tag of the same repository on the same host.
bool same_request(entry_facts const& failed, entry_facts const& later) {
  bool const method = later.x->method == failed.x->method || (is_read(later) && is_read(failed));
  if (!method) return false;
  if (same_url(failed, later)) return true;
  auto const& a = failed.cls;
  auto const& b = later.cls;
  if (a.repository.empty() || a.kind != b.kind || a.repository != b.repository) return false;
  if (!a.digest.empty()) return a.digest == b.digest;
  return a.kind == request_kind::manifest && a.reference == b.reference && same_repository(failed, later);
}

// A token request for the same realm (host and path) that got a token.
bool same_realm_token(entry_facts const& failed, entry_facts const& later) {
  return later.cls.kind == request_kind::token && later.x->status == 200 &&
         host_of(*later.x) == host_of(*failed.x) && path_of(later.x->target) == path_of(failed.x->target);
}

// After a write or an existence check (HEAD) in a repository, the push of that repository completed:
// a manifest PUT there was accepted (catalog §2: the manifest goes last).
bool push_completed(entry_facts const& failed, entry_facts const& later) {
  if (later.cls.kind != request_kind::manifest || !succeeded(later) || later.x->method != "PUT") return false;
  bool const push_step = !is_read(failed) || failed.x->method == "HEAD";
  return push_step && same_repository(failed, later);
}

// What later shows about failed, whoever sent it.
recovery recovery_by(entry_facts const& failed, entry_facts const* later) {
  if (failed.cls.kind == request_kind::token)
    return {same_realm_token(failed, *later) ? later : nullptr, false};
  if (answered_whole(*later) && same_request(failed, *later)) return {later, false};
  if (push_completed(failed, *later)) return {later, true};
  return {};
}

}  // namespace

bool is_read(entry_facts const& e) {
  return e.x->method == "GET" || e.x->method == "HEAD";
}

bool succeeded(entry_facts const& e) {
  return e.x->status >= 200 && e.x->status < 400;
}

bool same_url(entry_facts const& a, entry_facts const& b) {
  return a.x->port == b.x->port && a.x->target == b.x->target && iequals(a.x->host, b.x->host);
}

bool same_repository(entry_facts const& a, entry_facts const& b) {
  return !a.cls.repository.empty() && a.cls.repository == b.cls.repository && iequals(a.x->host, b.x->host);
}

recovery recovered(facts_span trace, entry_facts const& e, later_check also) {
  for (auto const* later = &e + 1; later < trace.data() + trace.size(); ++later) {
    // What the later request got first, who sent it after: the live window asks this of every failure.
    auto const r = recovery_by(e, later);
    if (r && same_client(e, *later) && (!also || also(e, *later))) return r;
  }
  return {};
}

void mark_recovered(finding& f, recovery const& r, severity to) {
  if (!r) return;
  f.level = std::min(f.level, to);
  auto const by = "#" + std::to_string(r.by->index + 1);
  f.explanation += r.whole_operation
                       ? " Recovered: the push completed later (" + by + " accepted the manifest)."
                       : " Recovered: the client retried and " + by + " succeeded.";
  f.recovered_on = f.seen_on;
  if (f.recovered_on.empty() && !f.evidence.empty()) f.recovered_on = {last_evidence_entry(f)};
}

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
