// Catalog §3 group B: authentication and authorization, read through the token flow of catalog §4
// (challenge → token request → retried registry request) and the checks of §4.6.
#include "capture/rules/rules_auth_flow.hpp"

namespace regtrace::capture::rules::detail {

std::string without_query(std::string_view url) {
  return normalize_url(url.substr(0, url.find('?')));
}

bool is_api_request(entry_facts const& e) {
  return e.x->kind == entry_kind::exchange && e.cls.kind != request_kind::token &&
         e.cls.kind != request_kind::storage && e.is_registry_api();
}

// Every message the error body carries, for matching vendor texts (catalog §1.3).
std::string error_text(entry_facts const& e) {
  std::string text;
  for (auto const& err : e.error.errors) text += err.message + " " + err.detail + " ";
  text += e.error.message;
  if (text.find_first_not_of(' ') == std::string::npos) text = e.x->response_body.text.substr(0, 4096);
  return text;
}

// The action a registry request needs (catalog §4.2).
std::string_view needed_action(exchange const& x) {
  if (x.method == "GET" || x.method == "HEAD") return "pull";
  if (x.method == "DELETE") return "delete";
  return "push";
}

// Catalog B-04: Docker looks credentials up by the host exactly as typed.
std::string host_spelling_problem(exchange const& x) {
  if (to_lower(x.host) != x.host)
    return "the registry host is written " + quoted(x.host) + " with upper-case letters";
  if (auto const* host = find_header(x.request_headers, "Host");
      host && x.scheme == "https" && host->ends_with(":443"))
    return "the Host header names the default port (" + quoted(*host) + ")";
  return {};
}

std::string token_request_text(token_request const& r) {
  std::string text = r.credential.empty() ? "anonymously" : "with " + r.credential;
  if (!r.username.empty()) text += " as " + quoted(r.username);
  if (!r.scopes.empty()) text += " for scope " + quoted(join(r.scopes, " "));
  return text;
}

namespace {

// Why the challenges of a 401 do not tell the client where to authenticate (B-01); "" when they do.
std::string challenge_problem(entry_facts const& e) {
  if (e.challenges.empty())
    return e.response_header("WWW-Authenticate") ? "its WWW-Authenticate header cannot be parsed"
                                                 : "the answer carries no WWW-Authenticate header";
  if (auto const* bearer = e.challenge("bearer")) {
    auto const realm = bearer->param("realm");
    if (realm.empty()) return "the Bearer challenge has no realm";
    if (!realm.starts_with("https://") && !realm.starts_with("http://"))
      return "the Bearer realm " + quoted(realm) + " is not an absolute http(s) URL";
    return {};
  }
  if (e.challenge("basic")) return {};
  std::vector<std::string> schemes;
  for (auto const& c : e.challenges) schemes.push_back(c.scheme);
  return "it only offers " + join(schemes) + ", which registry clients do not support";
}

// B-01: a 401 without a usable challenge.
void challenge_unusable(auth_flow const& flow, std::size_t i, std::vector<finding>& out) {
  entry_facts const& e = flow.trace()[i];
  auto const problem = challenge_problem(e);
  if (problem.empty()) return;
  // Some registries (GCR historically) omit the challenge on data requests; clients reuse the ping's and
  // recover (auth_rules says so).
  out.push_back(
      make_finding(b01, describe(e) + ": " + problem + ", so the client cannot find where to authenticate.",
                   {evidence_of(e, problem)}));
}

// B-02: a Basic challenge that no later request of the client to that host answers with credentials.
void basic_never_answered(auth_flow const& flow, std::size_t i, std::set<std::string>& basic_hosts,
                          std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[i];
  auto const* basic = e.challenge("basic");
  if (e.challenge("bearer") || !basic || e.has_authorization()) return;
  auto const host = host_of(*e.x);
  if (basic_hosts.contains(host)) return;
  std::vector<evidence_item> items{evidence_of(e, "Basic challenge")};
  for (std::size_t q = i + 1; q < trace.size(); ++q) {
    if (!same_client(e, trace[q]) || host_of(*trace[q].x) != host) continue;
    if (trace[q].has_authorization()) return;  // healthy: the client retried with credentials
    if (items.size() < 4) items.push_back(evidence_of(trace[q], "no Authorization"));
  }
  // Only a finished trace can prove the credentials never came: clients such as ctr send several
  // requests at once, and live the retries of all of them may still be on their way.
  if (!e.trace_complete) return;
  basic_hosts.insert(host);
  std::string explanation =
      describe(e) + " asks for Basic credentials (realm " + quoted(basic->param("realm"));
  if (auto const service = basic->param("service"); !service.empty())
    explanation += ", service " + quoted(service);
  explanation += ") and no later request from this client to " + host +
                 " carries an Authorization header: the client has no login stored for this host.";
  out.push_back(make_finding(b02, std::move(explanation), std::move(items)));
}

// B-01 and B-02: the 401 itself.
void challenge_rules(auth_flow const& flow, std::size_t i, std::set<std::string>& basic_hosts,
                     std::vector<finding>& out) {
  entry_facts const& e = flow.trace()[i];
  if (e.x->status != 401 || !is_api_request(e)) return;
  challenge_unusable(flow, i, out);
  basic_never_answered(flow, i, basic_hosts, out);
}

// ": \"message\"" with the token server's first error message, or "" when it gave none.
std::string server_says(entry_facts const& e) {
  auto const message = error_message(e);
  return message.empty() ? std::string{} : ": " + quoted(message);
}

// B-06: containerd sends the OAuth2 POST form first and falls back to GET when the token server refuses
// it. True when that settles the POST: the fallback followed (B-06), or the client may still fall back.
bool post_form_refused(auth_flow const& flow, std::size_t t, std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[t];
  auto const status = e.x->status;
  if (status != 400 && status != 401 && status != 404 && status != 405) return false;
  auto const realm = without_query(e.x->url());
  for (std::size_t g = t + 1; g < trace.size(); ++g)
    if (flow.is_token(g) && trace[g].x->method == "GET" && same_client(e, trace[g]) &&
        without_query(trace[g].x->url()) == realm) {
      out.push_back(
          make_finding(b06,
                       "The token server answered the OAuth2 POST form with " + std::to_string(status) +
                           " and the client retried with GET (entry " + std::to_string(trace[g].index) +
                           "), as containerd does; this first failure is expected.",
                       {evidence_of(e, "POST form refused"), evidence_of(trace[g], "GET fallback")}));
      return true;
    }
  // containerd falls back right away; anything else from the client means it gave up.
  return status == 404 || status == 405 || !flow.moved_on(t, [](std::size_t) { return false; });
}

// B-03/B-04: the token server refused an anonymous token request.
void anonymous_token_request_refused(auth_flow const& flow, std::size_t t, std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[t];
  if (e.x->method != "GET") return;
  auto const challenge = flow.challenge_before(t);
  std::vector<evidence_item> items;
  if (challenge) items.push_back(evidence_of(trace[*challenge], "challenge"));
  items.push_back(evidence_of(e, "anonymous token request"));
  auto const spelling = challenge ? host_spelling_problem(*trace[*challenge].x) : std::string{};
  std::string explanation =
      "The token request carried no credentials (no Authorization, no account=) and "
      "the token server refused it with " +
      std::to_string(e.x->status) + server_says(e) + ".";
  if (!spelling.empty()) explanation += " The stored login was not found because " + spelling + ".";
  out.push_back(make_finding(spelling.empty() ? b03 : b04, std::move(explanation), std::move(items)));
}

// B-05, or B-13 when the same realm hands out tokens anonymously: the token server refused credentials.
void credentials_refused(auth_flow const& flow, std::size_t t, std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[t];
  auto const& request = flow.request(t);
  std::vector<evidence_item> items{evidence_of(e, "credentials " + request.credential)};
  std::string explanation = "The token request " + token_request_text(request) + " was answered " +
                            std::to_string(e.x->status) + server_says(e) + ".";
  auto const anonymous = flow.anonymous_success_after(t);
  if (!anonymous && host_of(*e.x) != "public.ecr.aws") {
    out.push_back(make_finding(b05, std::move(explanation), std::move(items)));
    return;
  }
  if (anonymous) {
    items.push_back(evidence_of(trace[*anonymous], "anonymous token request works"));
    explanation += " An anonymous token request to the same realm succeeded afterwards (entry " +
                   std::to_string(trace[*anonymous].index) + "), so the stored credentials are stale.";
  } else {
    explanation +=
        " " + host_of(*e.x) + " serves public images anonymously; the stored credentials are stale.";
  }
  out.push_back(make_finding(b13, std::move(explanation), std::move(items)));
}

// Why a 200 token answer gives the client no token (B-08); "" when it does.
std::string token_answer_problem(entry_facts const& e, token_answer const& answer) {
  auto const& body = e.x->response_body;
  if (!answer.is_json_object) {
    if (e.error.kind == error_body::format::html)
      return "an HTML page" +
             (e.error.message.empty() ? std::string{} : " titled " + quoted(e.error.message));
    return body.text.empty() ? "an empty body"
                             : "a body that is not JSON, starting " + quoted(body.text.substr(0, 60));
  }
  if (e.x->method == "POST" && !answer.has_access_token)
    return "JSON without access_token, which the OAuth2 POST form requires";
  if (!answer.has_token && !answer.has_access_token) return "JSON without token or access_token";
  return {};
}

// B-08: the token server answered 200 without a usable token.
void token_answer_unusable(auth_flow const& flow, std::size_t t, std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[t];
  if (e.x->target.find("/oauth2/exchange") != std::string::npos) return;
  // A request only looks like a token request by its shape; judge its body only when it follows a
  // challenge or its path says so.
  auto const challenge = flow.challenge_before(t);
  if (!challenge && !path_of(e.x->target).ends_with("token")) return;
  if (!e.x->response_body.text_kept || e.x->response_body.text_truncated) return;
  auto const problem = token_answer_problem(e, flow.answer(t));
  if (problem.empty()) return;
  std::vector<evidence_item> items;
  if (challenge) items.push_back(evidence_of(trace[*challenge], "challenge"));
  items.push_back(evidence_of(e, problem));
  out.push_back(
      make_finding(b08, "The token server answered 200 with " + problem + "; the client cannot get a token.",
                   std::move(items)));
}

// B-03/B-04 for a refused anonymous token request, B-05, B-06, B-08, B-13 on a token request.
void token_rules(auth_flow const& flow, std::size_t t, std::vector<finding>& out) {
  exchange const& x = *flow.trace()[t].x;
  // ACR's exchange of an Entra ID token takes no registry credentials: E-03 (rules_vendor_cloud.cpp).
  if (path_of(x.target).ends_with("/oauth2/exchange")) return;
  if (x.method == "POST" && post_form_refused(flow, t, out)) return;
  if (x.status == 401 || x.status == 403) {
    if (flow.request(t).anonymous())
      anonymous_token_request_refused(flow, t, out);
    else
      credentials_refused(flow, t, out);
  } else if (x.status == 200) {
    token_answer_unusable(flow, t, out);
  }
}

// B-07: the realm of a challenge cannot be reached, or its path does not exist.
void realm_rules(auth_flow const& flow, std::size_t c, std::set<std::size_t>& reported,
                 std::vector<finding>& out) {
  auto const trace = flow.trace();
  auto const* bearer = trace[c].challenge("bearer");
  if (!bearer) return;
  auto const realm = bearer->param("realm");
  if (!realm.starts_with("https://") && !realm.starts_with("http://")) return;
  exchange realm_parts;
  if (!set_url(realm_parts, realm)) return;
  auto const realm_url = normalize_url(realm);
  for (std::size_t q = c + 1; q < trace.size(); ++q) {
    entry_facts const& e = trace[q];
    if (!same_client(trace[c], e)) continue;
    bool const to_realm = normalize_url(e.x->url()).starts_with(realm_url);
    if (!to_realm && host_of(*e.x) != host_of(realm_parts)) continue;
    std::string problem;
    if (host_unreachable(*e.x)) {
      problem = e.x->failure
                    ? "reaching the realm host failed (" + std::string(to_string(e.x->failure->where)) +
                          ": " + e.x->failure->message + ")"
                    : "reaching the realm host failed";
    } else if (!to_realm) {
      continue;  // another request to the realm host, e.g. a tunnel or a CONNECT that worked
    } else if (e.x->method == "GET" && e.x->status == 404) {
      problem = "the realm path answered 404";
    } else {
      return;  // the realm answered: the token rules judge the answer
    }
    if (!reported.insert(q).second) return;
    std::string explanation = "The challenge names the realm " + quoted(realm) + " and " + problem + ".";
    if (realm.starts_with("http://") && trace[c].x->scheme == "https")
      explanation += " The realm uses plain http for an https registry.";
    out.push_back(make_finding(b07, std::move(explanation),
                               {evidence_of(trace[c], "realm " + realm), evidence_of(e, problem)}));
    return;
  }
}

// Issue 12: an authentication failure the client got past (after a re-login the same request, or the
// whole push, succeeded) stays a finding, a WARNING that says so. from: the first finding about entry i.
void note_recovery(facts_span trace, std::size_t i, std::size_t from, std::vector<finding>& out) {
  entry_facts const& e = trace[i];
  bool const refused = e.x->status == 0 || e.x->status >= 400;  // a 200 token answer (B-08) is no refusal
  if (out.size() == from || !refused) return;
  auto const recovery = recovered(trace, e);
  for (std::size_t k = from; recovery && k < out.size(); ++k)
    if (out[k].level > severity::warning) mark_recovered(out[k], recovery);
}

}  // namespace

void auth_rules(facts_span trace, std::vector<finding>& out) {
  auth_flow const flow(trace);
  std::set<std::string> basic_hosts;
  std::set<std::size_t> unreachable_realms;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    auto const from = out.size();
    if (flow.is_token(i)) {
      token_rules(flow, i, out);
    } else {
      challenge_rules(flow, i, basic_hosts, out);
      if (trace[i].x->status == 401) realm_rules(flow, i, unreachable_realms, out);
      denial_rules(flow, i, out);
    }
    note_recovery(trace, i, from, out);
  }
  permission_propagation(flow, out);
}

}  // namespace regtrace::capture::rules::detail
