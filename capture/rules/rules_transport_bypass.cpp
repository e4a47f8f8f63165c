// Catalog §3 A-09: hosts of a flow that never reached regtrace, read from what the trace does show. A
// Location no request followed through the proxy, a token that came from a realm the trace never
// saw, storage fetched without the registry request that sends clients there. Go never proxies
// `localhost` or loopback literals, and skips every host NO_PROXY lists (catalog §6.1).
#include "capture/rules/rules_detail.hpp"
#include "capture/rules/rules_redirect_flow.hpp"
#include "capture/text/ascii.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry bypassed{
    "A-09",
    "PROXY_BYPASSED_PARTIAL_TRACE",
    severity::warning,
    "Part of the flow never reached regtrace: the client went to a host without the proxy",
    "(the trace holds no error for it: whatever the bypassed host answered is not recorded)",
    "Align NO_PROXY across the processes that pull (dockerd, containerd, the CLI): remove the registry, "
    "token realm and storage hosts from it, and address a local registry by a name that is not localhost "
    "or 127.x (Go never proxies those literals; a name that merely resolves to 127.0.0.1 is proxied)."};

// Go's net/http never sends these through a proxy, whatever the environment says (catalog A-09).
bool is_loopback_literal(std::string_view host) {
  return host == "localhost" || host.starts_with("127.") || host == "::1" || host == "[::1]";
}

bool any_request_to(facts_span trace, std::size_t from, std::string const& host) {
  for (std::size_t q = from; q < trace.size(); ++q)
    if (host_of(*trace[q].x) == host) return true;
  return false;
}

std::string bypass_reason(std::string const& host) {
  return is_loopback_literal(host)
             ? host + " is a loopback literal, which Go clients never send through a proxy"
             : "the client reaches " + host + " without the proxy (NO_PROXY lists it)";
}

// A 30x whose Location host never reached regtrace, though the client went on: it fetched the Location
// itself. Only a finished trace shows that nothing came; a client that asked the registry again
// instead is D-04's (the target may be blocked), unless Go's loopback rule says why. One finding per
// host, every such redirect its evidence.
void unfollowed_redirects(facts_span trace, std::vector<finding>& out) {
  std::set<std::size_t> repeats;  // registry requests that asked again after an unfollowed redirect
  std::map<std::string, std::vector<redirect>> by_host;
  for (auto const& r : find_redirects(trace)) {
    entry_facts const& origin = trace[r.from];
    if (!r.foreign || r.follow || !origin.trace_complete || (!origin.is_registry_api() && !r.storage))
      continue;
    auto const host = host_of(r.target);
    if (any_request_to(trace, r.from + 1, host)) continue;
    auto const again = asked_again(trace, r);
    if (again) repeats.insert(*again);
    if (is_loopback_literal(host) || !(again || repeats.contains(r.from))) by_host[host].push_back(r);
  }
  for (auto const& [host, redirects] : by_host) {
    entry_facts const& first = trace[redirects.front().from];
    std::vector<evidence_item> items;
    for (auto const& r : redirects)
      items.push_back(
          evidence_of(trace[r.from], "Location on " + host + ", never requested through regtrace"));
    out.push_back(make_finding(bypassed,
                               first.x->method + " " + first.x->url() + " was redirected (" +
                                   std::to_string(first.x->status) + ") to " + redirects.front().location +
                                   ", and no request to " + host + " ever reached regtrace: " +
                                   bypass_reason(host) + ". That part of the pull is missing from the trace.",
                               std::move(items)));
  }
}

// A request that went to the realm: to its host, and when the registry serves its own realm (ACR's
// /oauth2/token) to the realm's path.
bool reached_realm(entry_facts const& e, exchange const& realm, std::string const& registry_host) {
  if (host_of(*e.x) != host_of(realm)) return false;
  return host_of(realm) != registry_host || path_of(e.x->target).starts_with(path_of(realm.target));
}

// The first later request of the client to the challenging host that carries a bearer token.
entry_facts const* bearer_request_after(facts_span trace, std::size_t c) {
  for (std::size_t q = c + 1; q < trace.size(); ++q) {
    auto const* auth = trace[q].request_header("Authorization");
    if (auth && istarts_with(*auth, "Bearer ") && same_client(trace[c], trace[q]) &&
        host_of(*trace[q].x) == host_of(*trace[c].x))
      return &trace[q];
  }
  return nullptr;
}

// A Bearer challenge answered with a token although no request to its realm reached regtrace: the
// client fetched the token without the proxy.
void unseen_realms(facts_span trace, std::vector<finding>& out) {
  std::set<std::string> reported;
  for (std::size_t c = 0; c < trace.size(); ++c) {
    auto const* challenge = trace[c].x->status == 401 ? trace[c].challenge("bearer") : nullptr;
    exchange realm;
    if (!challenge || !set_url(realm, challenge->param("realm")) || reported.contains(host_of(realm)))
      continue;
    auto const* used = bearer_request_after(trace, c);
    if (!used) continue;
    auto const registry = host_of(*trace[c].x);
    if (std::ranges::any_of(trace, [&](entry_facts const& e) { return reached_realm(e, realm, registry); }))
      continue;
    reported.insert(host_of(realm));
    out.push_back(make_finding(bypassed,
                               describe(trace[c]) + " named the token realm " + challenge->param("realm") +
                                   "; the client then sent " + "a bearer token (entry " +
                                   std::to_string(used->index) + ") although no request to " +
                                   host_of(realm) + " reached regtrace: " + bypass_reason(host_of(realm)) +
                                   ".",
                               {evidence_of(trace[c], "Bearer challenge"),
                                evidence_of(*used, "bearer token from an unseen realm")}));
  }
}

// Storage fetched with a pre-signed URL in a trace without a single registry request: the registry
// itself was bypassed, only its storage came through. Only a finished trace shows that no registry
// request was ever recorded.
void storage_without_registry(facts_span trace, std::vector<finding>& out) {
  bool const registry_seen = std::ranges::any_of(trace, [](entry_facts const& f) {
    // Storage paths can hold "/v2/" too (distribution's layout): those are no registry request.
    return f.x->kind == entry_kind::exchange && f.cls.kind != request_kind::storage && f.is_registry_api();
  });
  if (registry_seen) return;
  std::set<std::string> reported;
  for (auto const& e : trace) {
    if (e.cls.kind != request_kind::storage || !e.trace_complete || reported.contains(host_of(*e.x)))
      continue;
    reported.insert(host_of(*e.x));
    out.push_back(make_finding(bypassed,
                               describe(e) +
                                   ": the client fetched pre-signed storage through regtrace, but none "
                                   "of its registry requests (the ones that hand out such URLs) reached "
                                   "regtrace: the client reaches the registry without the proxy "
                                   "(NO_PROXY lists it).",
                               {evidence_of(e, "storage without a registry request")}));
  }
}

}  // namespace

void transport_bypass_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {unfollowed_redirects, unseen_realms, storage_without_registry};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
