// Catalog §3 group C rules about the registry's own state: C-13 rate limited, C-14 server error,
// C-15 policy blocked.
#include "capture/rules/rules_api_common.hpp"
#include "capture/rules/rules_detail.hpp"

#include <map>
#include <set>
#include <string>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry c13{
    "C-13",
    "RATE_LIMITED",
    severity::error,
    "The registry is rate limiting the client",
    "toomanyrequests: You have reached your pull rate limit.",
    "Authenticate (anonymous limits are per IP and shared behind NAT), use a pull-through "
    "cache or mirror, back off as Retry-After says, or raise the plan or SKU."};
constexpr catalog_entry c14{"C-14",
                            "REGISTRY_SERVER_ERROR",
                            severity::error,
                            "The registry (or its front door) answered with a server error",
                            "received unexpected HTTP status: 500 Internal Server Error",
                            "Retry later; if it persists, check the registry's logs and health (storage "
                            "backend, load balancer, upstream timeouts)."};
constexpr catalog_entry c15{
    "C-15",
    "POLICY_BLOCKED_PULL",
    severity::error,
    "A registry policy (Harbor vulnerability or signature rule) blocked the pull",
    "unknown: current image cannot be pulled due to configured policy",
    "Fix or allow-list the vulnerabilities, sign the image, or change the project policy."};

// The leading number of a ratelimit-* value ("100;w=21600"), or -1.
long long leading_number(std::string const* value) {
  auto const n = value ? read_leading_integer(*value) : std::nullopt;
  return n ? n->value : -1;
}

std::string rate_headers(entry_facts const& e) {
  return response_headers_text(
      e, {"Retry-After", "ratelimit-limit", "ratelimit-remaining", "docker-ratelimit-source"});
}

void rate_limited(facts_span trace, std::vector<finding>& out) {
  std::set<std::string> limited;  // hosts that answered 429
  for (auto const& e : trace) {
    if (e.x->status != 429 || e.x->generated_response) continue;
    limited.insert(e.x->authority());
    std::string explanation = e.x->authority() + " answered 429 " + code_and_message(e) + " to " +
                              e.x->method + " " + e.x->target + ".";
    auto const headers = rate_headers(e);
    if (!headers.empty()) explanation += " Headers: " + headers + ".";
    auto f = make_finding(c13, std::move(explanation), {evidence_of(e, headers)});
    f.client_error = pick_client_text(client_of(e), docker_error_text(e), containerd_status_text(e),
                                      "too many requests to registry");
    mark_recovered(f, recovered(trace, e));
    out.push_back(std::move(f));
  }
  // Docker Hub announces the pull limit on manifest answers: warn before it bites (catalog C-13).
  std::map<std::string, entry_facts const*> low;
  for (auto const& e : trace) {
    long long const limit = leading_number(e.response_header("ratelimit-limit"));
    long long const remaining = leading_number(e.response_header("ratelimit-remaining"));
    if (!succeeded(e) || limit <= 0 || remaining < 0 || remaining * 10 > limit ||
        limited.contains(e.x->authority()))
      continue;
    auto& slot = low[e.x->authority()];
    if (slot == nullptr || leading_number(slot->response_header("ratelimit-remaining")) > remaining)
      slot = &e;
  }
  for (auto const& [host, e] : low) {
    auto f =
        make_finding(c13, host + " reports few pulls left before its rate limit: " + rate_headers(*e) + ".",
                     {evidence_of(*e, rate_headers(*e))});
    f.level = severity::warning;
    f.title = "The registry's pull rate limit is nearly used up";
    f.cause = host + " nearly limited";  // a warning ahead of time, not the 429s themselves
    out.push_back(std::move(f));
  }
}

void server_error(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    auto const s = e.x->status;
    // regtrace's own 502/504 (generated_response) report an upstream failure: A-* rules.
    if ((s != 500 && s != 502 && s != 503 && s != 504) || e.x->generated_response || !is_registry_request(e))
      continue;
    std::string explanation = e.x->authority() + " answered " + std::to_string(s) + " " +
                              code_and_message(e) + " to " + e.x->method + " " + e.x->target;
    if (auto const* server = e.response_header("Server")) explanation += "; Server: " + *server;
    if (auto const* via = e.response_header("Via")) explanation += "; Via: " + *via;
    explanation += ".";
    auto f = make_finding(c14, std::move(explanation), {evidence_of(e)});
    f.client_error = pick_client_text(
        client_of(e), "received unexpected HTTP status: " + std::to_string(s) + " " + e.x->reason,
        containerd_status_text(e), error_message(e));
    // A mirror that fails over to the next host recovers too (E-07 tells that story).
    auto recovery = recovered(trace, e);
    if (!recovery) recovery.by = fallback_success(trace, e);
    mark_recovered(f, recovery);
    out.push_back(std::move(f));
  }
}

void policy_blocked(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    bool const coded = e.error_code() == "PROJECTPOLICYVIOLATION";
    bool const manifest_412 = e.x->status == 412 && e.cls.kind == request_kind::manifest;
    if ((!coded && !manifest_412) || e.x->generated_response || recovered(trace, e)) continue;
    std::string explanation = e.x->method + " " + image_ref(e) + " was answered " +
                              std::to_string(e.x->status) + " " + code_and_message(e) +
                              ": a project policy (Harbor: vulnerability severity or "
                              "signature requirement) blocks pulling this image.";
    if (e.x->method == "HEAD") explanation += " HEAD answers carry no body, so only the status shows.";
    auto f = make_finding(c15, std::move(explanation), {evidence_of(e)});
    f.cause = image_ref(e);  // the policy blocks an image, not the registry
    f.client_error = client_text(e);
    out.push_back(std::move(f));
  }
}

}  // namespace

void api_server_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {rate_limited, server_error, policy_blocked};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
