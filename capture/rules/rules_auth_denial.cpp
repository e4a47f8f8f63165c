// Catalog §3 group B on refused registry requests: who was refused, with which token, and why
// (catalog §4.6 checks 2 and 5).
#include "capture/rules/rules_auth_flow.hpp"

namespace regtrace::capture::rules::detail {
namespace {

bool is_iam_denial(std::string_view text) {
  return (icontains(text, "Permission \"") && icontains(text, "denied on resource")) ||
         icontains(text, "is not authorized to perform:");
}

// What the trace knows about the token the failing request at r carried (catalog §4.6 check 2).
std::optional<jwt_claims> claims_for(auth_flow const& flow, std::size_t r, std::optional<std::size_t> t) {
  if (auto const* auth = flow.trace()[r].request_header("Authorization"))
    if (auto claims = decode_jwt(bearer_credential(*auth))) return claims;
  if (t) return decode_jwt(flow.answer(*t).token);
  return std::nullopt;
}

}  // namespace

void denial_rules(auth_flow const& flow, std::size_t r, std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[r];
  exchange const& x = *e.x;
  if (!is_api_request(e) || (x.status != 401 && x.status != 403 && x.status != 404)) return;
  auto const text = error_text(e);
  auto const message = error_message(e);
  auto const code = e.error_code();

  if (x.status == 403 && icontains(text, "client with IP") && icontains(text, "not allowed access")) {
    auto ip = std::string_view(text).substr(text.find('\'') + 1);
    ip = ip.substr(0, ip.find('\''));
    out.push_back(make_finding(b12,
                               describe(e) + ": the registry's network rules refuse the client address " +
                                   quoted(ip) + " (" + quoted(message) + ").",
                               {evidence_of(e, "client IP " + std::string(ip))}));
    return;
  }
  if (x.status == 403 && is_iam_denial(text)) {
    out.push_back(make_finding(
        b14, describe(e) + ": the cloud provider's IAM says no: " + quoted(message) + ".", {evidence_of(e)}));
    return;
  }
  if ((x.status == 401 || x.status == 403) && icontains(text, "authorization token has expired")) {
    std::string explanation = describe(e) + ": " + quoted(message) + ".";
    if (host_of(x) == "public.ecr.aws") {
      explanation += " public.ecr.aws serves public images anonymously; the stored login is stale.";
      out.push_back(make_finding(b13, std::move(explanation), {evidence_of(e)}));
    } else {
      explanation += " The stored registry login has expired (ECR logins last 12 h).";
      out.push_back(make_finding(b10, std::move(explanation), {evidence_of(e)}));
    }
    return;
  }
  if (!e.has_authorization()) return;  // the first 401 of every flow

  auto const* auth = e.request_header("Authorization");
  if (bearer_credential(*auth).empty()) {
    // A registry that checks Basic itself (htpasswd, `docker login` against /v2/) refusing the login.
    if (x.status == 401 && e.challenge("basic") && !e.challenge("bearer") && auth->starts_with("Basic")) {
      token_request const login = read_token_request(x);
      out.push_back(
          make_finding(b05,
                       describe(e) + ": the registry refused the Basic credentials" +
                           (login.username.empty() ? std::string{} : " of " + quoted(login.username)) + ".",
                       {evidence_of(e, "Basic credentials refused")}));
    }
    return;
  }

  auto const t = flow.issuing_token(r);
  auto const claims = claims_for(flow, r, t);
  std::vector<evidence_item> items;
  if (t) items.push_back(evidence_of(trace[*t], "token request " + token_request_text(flow.request(*t))));
  items.push_back(evidence_of(e));

  if (t && flow.request(*t).anonymous()) {
    bool const empty_grant = claims && claims->has_access && claims->access.empty();
    if (x.status == 404 && !(code == "NAME_UNKNOWN" && empty_grant)) return;
    auto const challenge = flow.challenge_before(*t);
    auto const spelling = host_spelling_problem(challenge ? *trace[*challenge].x : x);
    std::string explanation =
        "The token was fetched anonymously (no Authorization, no account=) and the registry "
        "refused the request that used it: " +
        describe(e) + ".";
    if (empty_grant) explanation += " The token grants nothing (empty access list).";
    if (!spelling.empty())
      explanation += " The stored login was not used because " + spelling + ".";
    else
      explanation +=
          " Registries answer an anonymous client the same way for a private and a missing repository.";
    out.push_back(make_finding(spelling.empty() ? b03 : b04, std::move(explanation), std::move(items)));
    return;
  }

  auto const* bearer = e.challenge("bearer");
  auto const error = bearer ? bearer->param("error") : std::string{};
  bool const invalid = x.status == 401 && error == "invalid_token";
  bool const denied =
      (x.status == 401 && error == "insufficient_scope") ||
      (x.status == 403 && code == "DENIED" && !icontains(text, "quota") && !icontains(text, "limit"));
  if (!invalid && !denied) return;

  // A 401 may be followed by a new token and a successful retry (containerd, containers/image):
  // judge it once the retry failed too or the client went on to other things.
  if (x.status == 401) {
    auto const url = normalize_url(x.url());
    // A retry refused again is evidence of the first refusal's finding, not a finding of its own.
    for (std::size_t q = r; q-- > 0;)
      if (same_client(e, trace[q]) && trace[q].x->method == x.method && normalize_url(trace[q].x->url()) == url &&
          (trace[q].x->status == 401 || trace[q].x->status == 403) && trace[q].has_authorization())
        return;
    for (std::size_t q = r + 1; q < trace.size(); ++q) {
      if (!same_client(e, trace[q]) || trace[q].x->method != x.method ||
          normalize_url(trace[q].x->url()) != url)
        continue;
      if (trace[q].x->status != 401 && trace[q].x->status != 403) return;
      items.push_back(evidence_of(trace[q], "retried, refused again"));
      break;
    }
    if (items.back().entry == e.index && !flow.moved_on(r, [&](std::size_t q) { return flow.is_token(q); }))
      return;
  }

  std::string explanation = describe(e);
  if (invalid) {
    if (auto const description = bearer->param("error_description"); !description.empty())
      explanation += " (" + quoted(description) + ")";
    explanation += ": the registry does not accept the token.";
    std::string const service = bearer->param("service");
    auto const now = epoch_seconds(x);
    if (claims) {
      if (!service.empty() && !claims->audiences.empty() &&
          std::ranges::find(claims->audiences, service) == claims->audiences.end())
        explanation += " The token's audience " + quoted(join(claims->audiences)) +
                       " is not the registry's service " + quoted(service) + ".";
      if (claims->expires && *claims->expires < now)
        explanation +=
            " The token expired " + std::to_string(now - *claims->expires) + " s before the request.";
      if (claims->not_before && *claims->not_before > now)
        explanation += " The token is only valid " + std::to_string(*claims->not_before - now) +
                       " s after the request: the clocks disagree.";
    }
    if (t && flow.answer(*t).expires_in) {
      auto const age = static_cast<std::int64_t>(seconds_between(trace[*t], e));
      if (age > *flow.answer(*t).expires_in)
        explanation += " The token was " + std::to_string(age) + " s old, past its expires_in of " +
                       std::to_string(*flow.answer(*t).expires_in) + " s.";
    }
    out.push_back(make_finding(b10, std::move(explanation), std::move(items)));
    return;
  }

  explanation += ": the request needs " + std::string(needed_action(x));
  if (!e.cls.repository.empty()) explanation += " on " + quoted(e.cls.repository);
  if (auto const scope = bearer ? bearer->param("scope") : std::string{}; !scope.empty())
    explanation += " (challenge scope " + quoted(scope) + ")";
  explanation += ".";
  if (t) {
    auto const& scopes = flow.request(*t).scopes;
    explanation += scopes.empty() ? " The token request named no scope."
                                  : " The token was requested for " + quoted(join(scopes, " ")) + ".";
    if (!e.cls.repository.empty() && !scopes.empty() &&
        std::ranges::none_of(parse_scopes(join(scopes, " ")),
                             [&](scope_entry const& s) { return s.name == e.cls.repository; }))
      explanation += " No requested scope names this repository: the name drifted (prefix, mirror or case).";
    if (!flow.answer(*t).scope.empty())
      explanation += " The token server granted " + quoted(flow.answer(*t).scope) + ".";
  }
  if (claims && claims->has_access) explanation += " The token grants " + granted_text(claims->access) + ".";
  out.push_back(make_finding(b09, std::move(explanation), std::move(items)));
}


}  // namespace regtrace::capture::rules::detail
