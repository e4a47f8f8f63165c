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
  if (std::ranges::any_of(x.host, [](char c) { return c >= 'A' && c <= 'Z'; }))
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


// B-01 and B-02: the 401 itself.
void challenge_rules(auth_flow const& flow, std::size_t i, std::set<std::string>& basic_hosts,
                     std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[i];
  if (e.x->status != 401 || !is_api_request(e)) return;
  auto const* bearer = e.challenge("bearer");
  std::string problem;
  if (e.challenges.empty()) {
    problem = e.response_header("WWW-Authenticate") ? "its WWW-Authenticate header cannot be parsed"
                                                    : "the answer carries no WWW-Authenticate header";
  } else if (bearer) {
    auto const realm = bearer->param("realm");
    if (realm.empty())
      problem = "the Bearer challenge has no realm";
    else if (!realm.starts_with("https://") && !realm.starts_with("http://"))
      problem = "the Bearer realm " + quoted(realm) + " is not an absolute http(s) URL";
  } else if (!e.challenge("basic")) {
    std::vector<std::string> schemes;
    for (auto const& c : e.challenges) schemes.push_back(c.scheme);
    problem = "it only offers " + join(schemes) + ", which registry clients do not support";
  }
  if (!problem.empty()) {
    auto f =
        make_finding(b01, describe(e) + ": " + problem + ", so the client cannot find where to authenticate.",
                     {evidence_of(e, problem)});
    // Some registries (GCR historically) omit the challenge on data requests; clients reuse the ping's.
    for (std::size_t q = i + 1; q < trace.size(); ++q)
      if (same_client(e, trace[q]) && trace[q].x->url() == e.x->url() && trace[q].x->status >= 200 &&
          trace[q].x->status < 400) {
        f.level = severity::warning;
        f.explanation += " The client recovered: the same request succeeded later (entry " +
                         std::to_string(trace[q].index) + ").";
        break;
      }
    out.push_back(std::move(f));
  }

  if (bearer || !e.challenge("basic") || e.has_authorization()) return;
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
  auto const* basic = e.challenge("basic");
  std::string explanation =
      describe(e) + " asks for Basic credentials (realm " + quoted(basic->param("realm"));
  if (auto const service = basic->param("service"); !service.empty())
    explanation += ", service " + quoted(service);
  explanation += ") and no later request from this client to " + host +
                 " carries an Authorization header: the client has no login stored for this host.";
  out.push_back(make_finding(b02, std::move(explanation), std::move(items)));
}

// B-03/B-04 for a refused anonymous token request, B-05, B-06, B-07 (404), B-08, B-13 on a token request.
void token_rules(auth_flow const& flow, std::size_t t, std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[t];
  exchange const& x = *e.x;
  auto const& request = flow.request(t);
  auto const challenge = flow.challenge_before(t);
  auto const server_says = error_message(e).empty() ? std::string{} : ": " + quoted(error_message(e));

  if (x.method == "POST" && (x.status == 400 || x.status == 401 || x.status == 404 || x.status == 405)) {
    auto const realm = without_query(x.url());
    for (std::size_t g = t + 1; g < trace.size(); ++g)
      if (flow.is_token(g) && trace[g].x->method == "GET" && same_client(e, trace[g]) &&
          without_query(trace[g].x->url()) == realm) {
        out.push_back(
            make_finding(b06,
                         "The token server answered the OAuth2 POST form with " + std::to_string(x.status) +
                             " and the client retried with GET (entry " + std::to_string(trace[g].index) +
                             "), as containerd does; this first failure is expected.",
                         {evidence_of(e, "POST form refused"), evidence_of(trace[g], "GET fallback")}));
        return;
      }
    // containerd falls back right away; anything else from the client means it gave up.
    if (x.status == 404 || x.status == 405 || !flow.moved_on(t, [](std::size_t) { return false; })) return;
  }

  if (x.status == 401 || x.status == 403) {
    if (request.anonymous()) {
      if (x.method != "GET") return;
      std::vector<evidence_item> items;
      if (challenge) items.push_back(evidence_of(trace[*challenge], "challenge"));
      items.push_back(evidence_of(e, "anonymous token request"));
      auto const spelling = challenge ? host_spelling_problem(*trace[*challenge].x) : std::string{};
      std::string explanation =
          "The token request carried no credentials (no Authorization, no account=) and "
          "the token server refused it with " +
          std::to_string(x.status) + server_says + ".";
      if (!spelling.empty()) explanation += " The stored login was not found because " + spelling + ".";
      out.push_back(make_finding(spelling.empty() ? b03 : b04, std::move(explanation), std::move(items)));
      return;
    }
    std::vector<evidence_item> items{evidence_of(e, "credentials " + request.credential)};
    std::string explanation = "The token request " + token_request_text(request) + " was answered " +
                              std::to_string(x.status) + server_says + ".";
    auto const anonymous = flow.anonymous_success_after(t);
    if (anonymous || host_of(x) == "public.ecr.aws") {
      if (anonymous) {
        items.push_back(evidence_of(trace[*anonymous], "anonymous token request works"));
        explanation += " An anonymous token request to the same realm succeeded afterwards (entry " +
                       std::to_string(trace[*anonymous].index) + "), so the stored credentials are stale.";
      } else {
        explanation +=
            " " + host_of(x) + " serves public images anonymously; the stored credentials are stale.";
      }
      out.push_back(make_finding(b13, std::move(explanation), std::move(items)));
      return;
    }
    out.push_back(make_finding(b05, std::move(explanation), std::move(items)));
    return;
  }

  if (x.status != 200 || x.target.find("/oauth2/exchange") != std::string::npos) return;
  // A request only looks like a token request by its shape; judge its body only when it follows a
  // challenge or its path says so.
  auto const path = std::string_view(x.target).substr(0, x.target.find('?'));
  if (!challenge && !path.ends_with("token")) return;
  auto const& body = x.response_body;
  if (!body.text_kept || body.text_truncated) return;
  auto const& answer = flow.answer(t);
  std::string problem;
  if (!answer.is_json_object) {
    if (e.error.kind == error_body::format::html)
      problem =
          "an HTML page" + (e.error.message.empty() ? std::string{} : " titled " + quoted(e.error.message));
    else
      problem = body.text.empty() ? "an empty body"
                                  : "a body that is not JSON, starting " + quoted(body.text.substr(0, 60));
  } else if (x.method == "POST" && !answer.has_access_token) {
    problem = "JSON without access_token, which the OAuth2 POST form requires";
  } else if (!answer.has_token && !answer.has_access_token) {
    problem = "JSON without token or access_token";
  }
  if (problem.empty()) return;
  std::vector<evidence_item> items;
  if (challenge) items.push_back(evidence_of(trace[*challenge], "challenge"));
  items.push_back(evidence_of(e, problem));
  out.push_back(
      make_finding(b08, "The token server answered 200 with " + problem + "; the client cannot get a token.",
                   std::move(items)));
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

}  // namespace

void auth_rules(facts_span trace, std::vector<finding>& out) {
  auth_flow const flow(trace);
  std::set<std::string> basic_hosts;
  std::set<std::size_t> unreachable_realms;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (flow.is_token(i)) {
      token_rules(flow, i, out);
      continue;
    }
    challenge_rules(flow, i, basic_hosts, out);
    if (trace[i].x->status == 401) realm_rules(flow, i, unreachable_realms, out);
    denial_rules(flow, i, out);
  }
}

}  // namespace regtrace::capture::rules::detail
