// Catalog §3 group D: redirects and object storage. Each 30x is linked to the request that followed
// its Location (catalog §7.3); the rules read that pair. Storage refusing a pre-signed URL's signature
// (D-02, D-03) is in rules_redirect_signature.cpp.
#include "capture/redaction/redaction.hpp"
#include "capture/rules/rules_redirect_flow.hpp"
#include "capture/text/ascii.hpp"

#include <algorithm>
#include <optional>
#include <set>

namespace regtrace::capture::rules::detail {
namespace {

// clang-format off
constexpr catalog_entry d01{"D-01", "REDIRECT_AUTH_FORWARDED", severity::critical,
    "Credentials were sent to a pre-signed storage URL",
    "unknown: <?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>InvalidAuthenticationInfo</Code>... "
    "(or \"error parsing HTTP 400 response body: invalid character '<' ...\"; libraries: 400 Bad Request)",
    "Follow the redirect without Authorization or Cookie headers: configure the HTTP library to drop them on "
    "cross-host redirects, or with curl drop -L and fetch the Location separately. A registry can also serve "
    "blobs itself (distribution: `redirect: disable: true`)."};
constexpr catalog_entry d04{"D-04", "REDIRECT_TARGET_BLOCKED", severity::critical,
    "The storage/CDN host the registry redirected to is not reachable",
    "containerd: \"httpReadSeeker: failed open: unexpected status from GET request to https://<cdn>/...: 403 "
    "Forbidden\"; Docker: \"error pulling image configuration: Get https://...\" with a dial error",
    "Allow the registry's data endpoints as well as its API host through firewalls and proxies: ACR "
    "<registry>.<region>.data.azurecr.io per region, ECR's S3 bucket (S3 gateway endpoint in a VPC), Docker "
    "Hub's CDN hosts."};
constexpr catalog_entry d05{"D-05", "REDIRECT_AUTH_REQUIRED_BUT_DROPPED", severity::error,
    "Redirected to another registry that wants credentials the client does not send there",
    "unauthorized: authentication required (on the redirected URL)",
    "Point the client at the second registry directly (mirror settings, registries.conf), or have the first "
    "registry proxy the content instead of redirecting."};
constexpr catalog_entry d06{"D-06", "REDIRECT_LOOP", severity::error,
    "Redirect loop",
    "stopped after 10 redirects",
    "Fix the redirect configuration of the registry or reverse proxy so the chain ends at the content."};
// clang-format on

// Catalog D-06: Go's client and the registry clients stop after 10 redirects.
constexpr std::size_t redirect_limit = 10;

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// A Location made absolute against the request that received it (RFC 9110 §10.2.2).
std::string resolve_location(exchange const& x, std::string_view location) {
  auto const sep = location.find("://");
  if (sep != std::string_view::npos && sep < location.find_first_of("/?#")) return std::string(location);
  if (location.starts_with("//")) return x.scheme + ":" + std::string(location);
  std::string base = x.scheme + "://" + x.authority();
  if (location.starts_with('/')) return base + std::string(location);
  auto const path = path_of(x.target);
  return base + std::string(path.substr(0, path.rfind('/') + 1)) + std::string(location);
}

struct query_pair {
  std::string key;
  std::string_view value;
};

// Same host, path and query parameters, values compared decoded and redaction markers matching any
// value: the Location and the request that followed it, even when only one of them was redacted.
bool same_resource(exchange const& location, exchange const& x) {
  if (location.scheme != x.scheme || host_of(location) != host_of(x) || location.port != x.port) return false;
  if (percent_decode(path_of(location.target)) != percent_decode(path_of(x.target))) return false;
  auto sorted = [](std::string_view query) {
    std::vector<query_pair> pairs;
    for (auto const& p : split_query(query)) pairs.push_back({percent_decode(p.key), p.value});
    std::ranges::stable_sort(pairs, {}, &query_pair::key);
    return pairs;
  };
  auto const a = sorted(query_of(location.target));
  auto const b = sorted(query_of(x.target));
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key) return false;
    if (is_redaction_marker(a[i].value) || is_redaction_marker(b[i].value)) continue;
    if (percent_decode(a[i].value) != percent_decode(b[i].value)) return false;
  }
  return true;
}

std::vector<evidence_item> pair_evidence(facts_span trace, redirect const& r, std::string_view from_note,
                                         std::string_view follow_note) {
  std::vector<evidence_item> items{evidence_of(trace[r.from], from_note)};
  if (r.follow) items.push_back(evidence_of(trace[*r.follow], follow_note));
  return items;
}

// D-01: the request to the Location carried Authorization. Detected on the request, whatever storage
// answered (MinIO accepts it): the credential left the registry's host either way.
void forwarded_auth(facts_span trace, redirect const& r, std::vector<finding>& out) {
  if (!r.storage || !r.foreign || !r.follow || !trace[*r.follow].has_authorization()) return;
  entry_facts const& origin = trace[r.from];
  entry_facts const& storage = trace[*r.follow];
  std::string const& sent = *storage.request_header("Authorization");
  std::string const scheme = sent.substr(0, sent.find(' '));
  auto const* original = origin.request_header("Authorization");
  std::string explanation = origin.x->method + " " + origin.x->url() + " was redirected (" +
                            std::to_string(origin.x->status) + ") to the pre-signed storage host " +
                            host_of(r.target) + ", and the client sent its Authorization: " + scheme +
                            " header there";
  explanation += original && *original == sent ? " (the same credential it gave the registry)." : ".";
  if (storage.x->status >= 200 && storage.x->status < 300)
    explanation += " Storage answered " + std::to_string(storage.x->status) +
                   " and ignored the header, but the credential leaked to a third party.";
  else
    explanation += " Storage answered " + storage_answer(storage) + ".";
  out.push_back(make_finding(
      d01, std::move(explanation),
      pair_evidence(trace, r, "redirect to " + host_of(r.target), "Authorization: " + scheme + " sent")));
}

// D-01 without the 30x in the trace: a pre-signed URL fetched with a registry credential.
void forwarded_auth_unlinked(entry_facts const& e, std::vector<finding>& out) {
  auto const* auth = e.request_header("Authorization");
  if (e.cls.kind != request_kind::storage || !auth || !is_presigned_storage_query(query_of(e.x->target)))
    return;
  std::string const scheme = auth->substr(0, auth->find(' '));
  if (!iequals(scheme, "Bearer") && !iequals(scheme, "Basic")) return;
  out.push_back(make_finding(d01,
                             "The pre-signed storage URL on " + host_of(*e.x) +
                                 " was fetched with an Authorization: " + scheme +
                                 " header; storage answered " + storage_answer(e) + ".",
                             {evidence_of(e, "Authorization: " + scheme + " sent")}));
}

// The request that failed to reach the redirect target: the one that followed the Location, or when
// none did, a later one of the same client to that host.
std::optional<std::size_t> failed_reach(facts_span trace, redirect const& r) {
  if (r.follow) return host_unreachable(*trace[*r.follow].x) ? r.follow : std::nullopt;
  auto const host = host_of(r.target);
  for (std::size_t q = r.from + 1; q < trace.size(); ++q)
    if (same_client(trace[r.from], trace[q]) && host_of(*trace[q].x) == host && host_unreachable(*trace[q].x))
      return q;
  return std::nullopt;
}

// Where reaching a host failed: the phase and message, else the kind of entry.
std::string failure_reason(exchange const& x) {
  return x.failure ? std::string(to_string(x.failure->where)) + ": " + x.failure->message
                   : std::string(to_string(x.kind));
}

// ", which answered 403 with ...": a firewall or CDN edge refused the followed request, not the storage
// service (whose refusals are XML) nor a registry; "" otherwise.
std::string edge_refusal(entry_facts const& s) {
  auto const kind = s.error.kind;
  if (s.x->status != 403 || kind == error_body::format::xml || kind == error_body::format::registry_json)
    return {};
  std::string text = ", which answered 403 with ";
  text += kind == error_body::format::html   ? "an HTML page"
          : kind == error_body::format::none ? "an empty body"
                                             : "a plain-text body";
  if (!s.error.message.empty()) text += " (" + quoted(s.error.message.substr(0, 120)) + ")";
  if (auto const* server = s.response_header("Server")) text += " from server " + quoted(*server);
  return text + ": a firewall or CDN edge, not the storage service, refused it.";
}

// D-04: the redirect target cannot be reached, refuses at its edge, or is never asked.
void blocked_target(facts_span trace, redirect const& r, std::vector<finding>& out) {
  if (!r.foreign) return;
  entry_facts const& origin = trace[r.from];
  auto const host = host_of(r.target);
  std::string const lead = origin.x->method + " " + origin.x->url() + " was redirected to " + host;
  auto blocked = [&](std::string explanation, entry_facts const& shown, std::string const& note) {
    auto f = make_finding(d04, std::move(explanation),
                          {evidence_of(origin, "redirect to " + host), evidence_of(shown, note)});
    f.cause = host;  // the blocked host, whichever request shows it
    out.push_back(std::move(f));
  };
  if (auto const failed = failed_reach(trace, r)) {
    blocked(lead + ", and reaching " + host + " failed (" + failure_reason(*trace[*failed].x) + ").",
            trace[*failed], "cannot reach " + host);
  } else if (r.follow) {
    if (auto const edge = edge_refusal(trace[*r.follow]); !edge.empty())
      blocked(lead + edge, trace[*r.follow], "edge 403");
  } else if (auto const again = asked_again(trace, r)) {
    blocked(lead + ", but no request to " + host +
                " ever reached the proxy, and the client asked the registry again (entry " +
                std::to_string(trace[*again].index) + "): the client cannot reach " + host +
                " or bypasses the proxy for it.",
            trace[*again], "asked again");
  }
}

// D-05: redirected to another registry's API, followed without credentials, refused there.
void dropped_auth(facts_span trace, redirect const& r, std::vector<finding>& out) {
  if (!r.foreign || r.storage || !r.follow) return;
  entry_facts const& origin = trace[r.from];
  entry_facts const& next = trace[*r.follow];
  auto const kind = classify("GET", r.target.host, r.target.target).kind;
  if (kind == request_kind::other || kind == request_kind::token || !origin.has_authorization() ||
      next.has_authorization() || next.x->status != 401)
    return;
  // The client may still get a token from the second registry and retry with it.
  bool moved_on = false;
  for (std::size_t q = *r.follow + 1; q < trace.size(); ++q) {
    if (!same_client(next, trace[q])) continue;
    if (same_resource(r.target, *trace[q].x) && trace[q].has_authorization()) {
      if (trace[q].x->status < 400) return;
    } else if (trace[q].cls.kind != request_kind::token) {
      moved_on = true;
    }
  }
  if (!moved_on && !next.trace_complete) return;
  out.push_back(make_finding(
      d05,
      origin.x->method + " " + origin.x->url() + " (sent with Authorization) was redirected to " +
          host_of(r.target) + ", another registry; the client followed without credentials and " +
          host_of(r.target) + " answered 401.",
      pair_evidence(trace, r, "redirect to " + host_of(r.target), "401 without Authorization")));
}

// D-06: one logical request bounced through redirect_limit or more 3xx answers.
void redirect_loops(facts_span trace, std::vector<redirect> const& redirects, std::vector<finding>& out) {
  std::vector<std::optional<std::size_t>> next(trace.size());
  std::vector<bool> is_target(trace.size(), false);
  std::vector<redirect const*> at(trace.size(), nullptr);
  for (auto const& r : redirects) {
    at[r.from] = &r;
    if (r.follow) {
      next[r.from] = *r.follow;
      is_target[*r.follow] = true;
    }
  }
  for (auto const& r : redirects) {
    if (is_target[r.from]) continue;
    std::vector<std::size_t> chain{r.from};
    std::set<std::string> urls{normalize_url(trace[r.from].x->url())};
    bool cycle = false;
    for (auto n = next[r.from]; n && at[*n]; n = next[*n]) {
      chain.push_back(*n);
      cycle = !urls.insert(normalize_url(trace[*n].x->url())).second || cycle;
    }
    if (chain.size() < redirect_limit) continue;
    std::string explanation = std::to_string(chain.size()) + " redirects in a row, starting at " +
                              trace[r.from].x->method + " " + trace[r.from].x->url();
    explanation += cycle ? ", going round a cycle of URLs." : ", without reaching content.";
    out.push_back(make_finding(
        d06, std::move(explanation),
        {evidence_of(trace[chain[0]], "first redirect"), evidence_of(trace[chain[1]], "second redirect"),
         evidence_of(trace[chain.back()], "redirect " + std::to_string(chain.size()))}));
  }
}

}  // namespace

std::vector<redirect> find_redirects(facts_span trace) {
  std::vector<redirect> out;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    exchange const& x = *trace[i].x;
    auto const* location = trace[i].response_header("Location");
    if (x.kind != entry_kind::exchange || !is_redirect(x.status) || !location || location->empty()) continue;
    redirect r;
    r.from = i;
    r.location = resolve_location(x, *location);
    if (!set_url(r.target, r.location)) continue;
    r.storage = classify("GET", r.target.host, r.target.target).kind == request_kind::storage;
    // Host names, not ports: Go keeps Authorization across ports of one host, and so does the catalog's
    // "<host> ≠ request host".
    r.foreign = host_of(r.target) != host_of(x);
    for (std::size_t q = i + 1; q < trace.size() && !r.follow; ++q)
      if (trace[q].x->kind == entry_kind::exchange && same_client(trace[i], trace[q]) &&
          same_resource(r.target, *trace[q].x))
        r.follow = q;
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<std::size_t> asked_again(facts_span trace, redirect const& r) {
  entry_facts const& origin = trace[r.from];
  auto const host = host_of(r.target);
  for (std::size_t q = r.from + 1; q < trace.size(); ++q)
    if (host_of(*trace[q].x) == host) return std::nullopt;
  for (std::size_t q = r.from + 1; q < trace.size(); ++q)
    if (same_client(origin, trace[q]) && trace[q].x->method == origin.x->method &&
        trace[q].x->url() == origin.x->url())
      return q;
  return std::nullopt;
}

void redirect_rules(facts_span trace, std::vector<finding>& out) {
  auto const redirects = find_redirects(trace);
  std::vector<redirect const*> followed_from(trace.size(), nullptr);
  for (auto const& r : redirects) {
    if (!trace[r.from].is_registry_api() && !r.storage) continue;
    if (r.follow) followed_from[*r.follow] = &r;
    forwarded_auth(trace, r, out);
    blocked_target(trace, r, out);
    dropped_auth(trace, r, out);
  }
  for (std::size_t s = 0; s < trace.size(); ++s) {
    bool const storage =
        trace[s].cls.kind == request_kind::storage || (followed_from[s] && followed_from[s]->storage);
    if (!storage || trace[s].x->kind != entry_kind::exchange) continue;
    if (!followed_from[s]) forwarded_auth_unlinked(trace[s], out);
    signature_rules(trace, s, followed_from[s], out);
  }
  redirect_loops(trace, redirects, out);
}

}  // namespace regtrace::capture::rules::detail
