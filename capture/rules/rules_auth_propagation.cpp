// Catalog §3 B-11: a registry request refused with a bearer token, and the same identity's new token
// for the same scope accepted for the same action later. The grant changed between the two token
// requests: a role just assigned is still propagating (ACR caches permissions for up to about ten
// minutes) or the old token kept the old rights. Correlated by identity and scope, not by the
// 120 s session window: the success typically comes minutes later.
#include "capture/rules/rules_auth_flow.hpp"
#include "capture/text/display.hpp"

namespace regtrace::capture::rules::detail {
namespace {

// How long after a refusal a success still reads as the same permission taking effect.
constexpr double propagation_window_seconds = 3600;

// Who asked the token server for what: "alice repository:app:pull,push" (scopes sorted); "" for an
// anonymous or unnamed request, which no identity ties to a later one.
std::string grant_key(auth_flow const& flow, std::size_t t) {
  auto const& request = flow.request(t);
  if (request.anonymous() || request.username.empty()) return {};
  auto scopes = request.scopes;
  std::ranges::sort(scopes);
  return request.username + " " + join(scopes, " ");
}

// Refused although it carried a bearer token: 401 insufficient_scope, or 403 DENIED (catalog B-09).
bool denied_with_token(entry_facts const& e) {
  auto const* auth = e.request_header("Authorization");
  if (!is_api_request(e) || !auth || bearer_credential(*auth).empty()) return false;
  auto const* bearer = e.challenge("bearer");
  return (e.x->status == 401 && bearer && bearer->param("error") == "insufficient_scope") ||
         (e.x->status == 403 && e.error_code() == "DENIED");
}

// The same action on the same repository of the same registry.
bool same_operation(entry_facts const& a, entry_facts const& b) {
  return !a.cls.repository.empty() && a.cls.repository == b.cls.repository &&
         host_of(*a.x) == host_of(*b.x) && needed_action(*a.x) == needed_action(*b.x);
}

// What the two tokens grant, when both are readable JWTs.
std::string grants_compared(auth_flow const& flow, std::size_t before, std::size_t after) {
  auto const first = decode_jwt(flow.answer(before).token);
  auto const second = decode_jwt(flow.answer(after).token);
  if (!first || !second || !first->has_access || !second->has_access) return {};
  return " The first token granted " + granted_text(first->access) + ", the new one " +
         granted_text(second->access) + ".";
}

struct propagation {
  std::size_t refused = 0, old_token = 0, new_token = 0, accepted = 0;
};

// The later success of the refused request r with a new token of the same identity and scope.
std::optional<propagation> later_grant(auth_flow const& flow, std::size_t r) {
  auto const trace = flow.trace();
  auto const old_token = flow.issuing_token(r);
  if (!old_token) return std::nullopt;
  auto const key = grant_key(flow, *old_token);
  if (key.empty()) return std::nullopt;
  for (std::size_t q = r + 1; q < trace.size(); ++q) {
    entry_facts const& e = trace[q];
    if (seconds_between(trace[r], e) > propagation_window_seconds) break;
    if (e.x->status < 200 || e.x->status >= 300 || !is_api_request(e) || !same_operation(trace[r], e))
      continue;
    auto const new_token = flow.issuing_token(q);
    if (new_token && *new_token > r && grant_key(flow, *new_token) == key)
      return propagation{r, *old_token, *new_token, q};
  }
  return std::nullopt;
}

void report(auth_flow const& flow, propagation const& p, std::vector<finding>& out) {
  auto const trace = flow.trace();
  auto const& request = flow.request(p.old_token);
  auto const later = format_duration_ms(seconds_between(trace[p.refused], trace[p.accepted]) * 1000);
  std::string text = describe(trace[p.refused]) + ": the token that " + quoted(request.username) +
                     " got for scope " + quoted(join(request.scopes, " ")) + " did not allow " +
                     std::string(needed_action(*trace[p.refused].x)) + ". " + later +
                     " later a new token for the same identity and scope (entry " +
                     std::to_string(trace[p.new_token].index) + ") was accepted for the same operation (" +
                     describe(trace[p.accepted]) +
                     "): the grant changed in between, as when a role just assigned takes effect.";
  text += grants_compared(flow, p.old_token, p.new_token);
  out.push_back(make_finding(b11, std::move(text),
                             {evidence_of(trace[p.refused], "denied"),
                              evidence_of(trace[p.new_token], "new token, same identity and scope"),
                              evidence_of(trace[p.accepted], "allowed " + later + " later")}));
}

}  // namespace

void permission_propagation(auth_flow const& flow, std::vector<finding>& out) {
  std::set<std::string> reported;  // one finding per identity and scope
  for (std::size_t r = 0; r < flow.trace().size(); ++r) {
    if (!denied_with_token(flow.trace()[r])) continue;
    auto const found = later_grant(flow, r);
    if (found && reported.insert(grant_key(flow, found->old_token)).second) report(flow, *found, out);
  }
}

}  // namespace regtrace::capture::rules::detail
