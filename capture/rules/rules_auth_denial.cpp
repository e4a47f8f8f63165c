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

// A refused registry request and what its error body says, read once for every check below.
struct refusal {
  entry_facts const& e;
  std::string text;     ///< every message of the body (error_text)
  std::string message;  ///< its first message
};

// B-12: the registry's network rules (the ACR firewall) refuse the client's address.
bool network_rule_denied(refusal const& d, std::vector<finding>& out) {
  if (d.e.x->status != 403 || !icontains(d.text, "client with IP") ||
      !icontains(d.text, "not allowed access"))
    return false;
  auto ip = std::string_view(d.text).substr(d.text.find('\'') + 1);
  ip = ip.substr(0, ip.find('\''));
  out.push_back(make_finding(b12,
                             describe(d.e) + ": the registry's network rules refuse the client address " +
                                 quoted(ip) + " (" + quoted(d.message) + ").",
                             {evidence_of(d.e, "client IP " + std::string(ip))}));
  return true;
}

// B-14: the cloud provider's IAM refused the identity.
bool iam_denied(refusal const& d, std::vector<finding>& out) {
  if (d.e.x->status != 403 || !is_iam_denial(d.text)) return false;
  out.push_back(make_finding(b14,
                             describe(d.e) + ": the cloud provider's IAM says no: " + quoted(d.message) + ".",
                             {evidence_of(d.e)}));
  return true;
}

// B-10 in ECR's words, or B-13 where the registry serves public images anonymously: the stored login
// has expired.
bool login_expired(refusal const& d, std::vector<finding>& out) {
  auto const status = d.e.x->status;
  if ((status != 401 && status != 403) || !icontains(d.text, "authorization token has expired")) return false;
  std::string explanation = describe(d.e) + ": " + quoted(d.message) + ".";
  if (host_of(*d.e.x) == "public.ecr.aws") {
    explanation += " public.ecr.aws serves public images anonymously; the stored login is stale.";
    out.push_back(make_finding(b13, std::move(explanation), {evidence_of(d.e)}));
  } else {
    explanation += " The stored registry login has expired (ECR logins last 12 h).";
    out.push_back(make_finding(b10, std::move(explanation), {evidence_of(d.e)}));
  }
  return true;
}

// B-05 for a registry that checks Basic itself (htpasswd, `docker login` against /v2/) refusing the login.
void basic_login_refused(entry_facts const& e, std::string const& auth, std::vector<finding>& out) {
  if (e.x->status != 401 || !e.challenge("basic") || e.challenge("bearer") || !auth.starts_with("Basic"))
    return;
  token_request const login = read_token_request(*e.x);
  out.push_back(make_finding(b05,
                             describe(e) + ": the registry refused the Basic credentials" +
                                 (login.username.empty() ? std::string{} : " of " + quoted(login.username)) +
                                 ".",
                             {evidence_of(e, "Basic credentials refused")}));
}

// A refused request that carried a bearer token, with what the trace knows about that token.
struct token_use {
  auth_flow const& flow;
  std::size_t r = 0;                 ///< the refused request
  std::optional<std::size_t> t;      ///< the token request that issued the token, when in the trace
  std::optional<jwt_claims> claims;  ///< the token's own claims, when it is a readable JWT
  std::vector<evidence_item> items;  ///< the token request (if any), the refused request, a refused retry
  entry_facts const& refused() const { return flow.trace()[r]; }
};

// B-03/B-04: the token was fetched anonymously, so the registry refused a client that has no login here
// or whose stored login was not found.
void anonymous_token_refused(token_use& use, std::vector<finding>& out) {
  entry_facts const& e = use.refused();
  bool const empty_grant = use.claims && use.claims->has_access && use.claims->access.empty();
  if (e.x->status == 404 && !(e.error_code() == "NAME_UNKNOWN" && empty_grant)) return;
  auto const challenge = use.flow.challenge_before(*use.t);
  auto const spelling = host_spelling_problem(challenge ? *use.flow.trace()[*challenge].x : *e.x);
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
  out.push_back(make_finding(spelling.empty() ? b03 : b04, std::move(explanation), std::move(use.items)));
}

// A 401 may be followed by a new token and a successful retry (containerd, containers/image): it is
// judged once the retry failed too (that retry joins items) or the client went on to other things.
bool refusal_settled(auth_flow const& flow, std::size_t r, std::vector<evidence_item>& items) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[r];
  auto const url = normalize_url(e.x->url());
  auto same_request = [&](entry_facts const& f) {
    return same_client(e, f) && f.x->method == e.x->method && normalize_url(f.x->url()) == url;
  };
  auto refused = [](entry_facts const& f) { return f.x->status == 401 || f.x->status == 403; };
  // A retry refused again is evidence of the first refusal's finding, not a finding of its own.
  for (std::size_t q = r; q-- > 0;)
    if (same_request(trace[q]) && refused(trace[q]) && trace[q].has_authorization()) return false;
  for (std::size_t q = r + 1; q < trace.size(); ++q) {
    if (!same_request(trace[q])) continue;
    if (!refused(trace[q])) return false;
    items.push_back(evidence_of(trace[q], "retried, refused again"));
    return true;
  }
  return flow.moved_on(r, [&](std::size_t q) { return flow.is_token(q); });
}

// What the token's claims say against the registry's service and the request time, as sentences.
std::string claims_problems(jwt_claims const& claims, std::string const& service, std::int64_t now) {
  std::string text;
  if (!service.empty() && !claims.audiences.empty() &&
      std::ranges::find(claims.audiences, service) == claims.audiences.end())
    text += " The token's audience " + quoted(join(claims.audiences)) + " is not the registry's service " +
            quoted(service) + ".";
  if (claims.expires && *claims.expires < now)
    text += " The token expired " + std::to_string(now - *claims.expires) + " s before the request.";
  if (claims.not_before && *claims.not_before > now)
    text += " The token is only valid " + std::to_string(*claims.not_before - now) +
            " s after the request: the clocks disagree.";
  return text;
}

// B-10: the registry does not accept the token (invalid_token); its claims and age say why.
void token_rejected(token_use& use, auth_challenge const& bearer, std::vector<finding>& out) {
  entry_facts const& e = use.refused();
  std::string explanation = describe(e);
  if (auto const description = bearer.param("error_description"); !description.empty())
    explanation += " (" + quoted(description) + ")";
  explanation += ": the registry does not accept the token.";
  if (use.claims) explanation += claims_problems(*use.claims, bearer.param("service"), epoch_seconds(*e.x));
  if (use.t && use.flow.answer(*use.t).expires_in) {
    auto const lifetime = *use.flow.answer(*use.t).expires_in;
    auto const age = static_cast<std::int64_t>(seconds_between(use.flow.trace()[*use.t], e));
    if (age > lifetime)
      explanation += " The token was " + std::to_string(age) + " s old, past its expires_in of " +
                     std::to_string(lifetime) + " s.";
  }
  out.push_back(make_finding(b10, std::move(explanation), std::move(use.items)));
}

// What the token request at t asked for and what the token server granted, as sentences for B-09.
std::string requested_scope_text(auth_flow const& flow, std::size_t t, std::string const& repository) {
  auto const& scopes = flow.request(t).scopes;
  std::string text = scopes.empty() ? " The token request named no scope."
                                    : " The token was requested for " + quoted(join(scopes, " ")) + ".";
  if (!repository.empty() && !scopes.empty() &&
      std::ranges::none_of(parse_scopes(join(scopes, " ")),
                           [&](scope_entry const& s) { return s.name == repository; }))
    text += " No requested scope names this repository: the name drifted (prefix, mirror or case).";
  if (!flow.answer(t).scope.empty())
    text += " The token server granted " + quoted(flow.answer(t).scope) + ".";
  return text;
}

// B-09: the token does not grant the action the request needs (insufficient_scope, or DENIED).
void scope_insufficient(token_use& use, auth_challenge const* bearer, std::vector<finding>& out) {
  entry_facts const& e = use.refused();
  std::string explanation = describe(e) + ": the request needs " + std::string(needed_action(*e.x));
  if (!e.cls.repository.empty()) explanation += " on " + quoted(e.cls.repository);
  if (auto const scope = bearer ? bearer->param("scope") : std::string{}; !scope.empty())
    explanation += " (challenge scope " + quoted(scope) + ")";
  explanation += ".";
  if (use.t) explanation += requested_scope_text(use.flow, *use.t, e.cls.repository);
  if (use.claims && use.claims->has_access)
    explanation += " The token grants " + granted_text(use.claims->access) + ".";
  auto f = make_finding(b09, std::move(explanation), std::move(use.items));
  f.cause = host_of(*e.x) + "/" + e.cls.repository;  // an identity may push to one repository, not another
  out.push_back(std::move(f));
}

// B-03/B-04, B-10 or B-09 on a registry request refused although it carried a bearer token.
void bearer_refused(auth_flow const& flow, std::size_t r, std::string const& text,
                    std::vector<finding>& out) {
  entry_facts const& e = flow.trace()[r];
  auto const t = flow.issuing_token(r);
  token_use use{.flow = flow, .r = r, .t = t, .claims = claims_for(flow, r, t), .items = {}};
  if (t)
    use.items.push_back(
        evidence_of(flow.trace()[*t], "token request " + token_request_text(flow.request(*t))));
  use.items.push_back(evidence_of(e));
  if (t && flow.request(*t).anonymous()) {
    anonymous_token_refused(use, out);
    return;
  }
  auto const* bearer = e.challenge("bearer");
  auto const error = bearer ? bearer->param("error") : std::string{};
  auto const status = e.x->status;
  bool const invalid = status == 401 && error == "invalid_token";
  bool const denied =
      (status == 401 && error == "insufficient_scope") ||
      (status == 403 && e.error_code() == "DENIED" && !icontains(text, "quota") && !icontains(text, "limit"));
  if (!invalid && !denied) return;
  if (status == 401 && !refusal_settled(flow, r, use.items)) return;
  if (invalid)
    token_rejected(use, *bearer, out);  // invalid_token comes in a Bearer challenge
  else
    scope_insufficient(use, bearer, out);
}

}  // namespace

void denial_rules(auth_flow const& flow, std::size_t r, std::vector<finding>& out) {
  entry_facts const& e = flow.trace()[r];
  auto const status = e.x->status;
  if (!is_api_request(e) || (status != 401 && status != 403 && status != 404)) return;
  refusal const said{e, error_text(e), error_message(e)};
  if (network_rule_denied(said, out) || iam_denied(said, out) || login_expired(said, out)) return;
  auto const* auth = e.request_header("Authorization");
  if (auth == nullptr) return;  // the first 401 of every flow
  if (bearer_credential(*auth).empty())
    basic_login_refused(e, *auth, out);
  else
    bearer_refused(flow, r, said.text, out);
}

}  // namespace regtrace::capture::rules::detail
