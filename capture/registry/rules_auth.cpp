// Catalog §3 group B: authentication and authorization, read through the token flow of catalog §4
// (challenge → token request → retried registry request) and the checks of §4.6.
#include "capture/ascii.hpp"
#include "capture/har_entry_reader.hpp"
#include "capture/registry/jwt.hpp"
#include "capture/registry/rules_detail.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <set>

namespace regtrace::capture::registry::detail {
namespace {

// clang-format off
constexpr catalog_entry b01{"B-01", "AUTH_CHALLENGE_MISSING_OR_MALFORMED", severity::error,
    "Registry answered 401 without a usable authentication challenge",
    "containerd: \"no realm specified for token auth challenge\" or \"failed to find supported auth scheme\"; "
    "Docker: \"unauthorized: ...\"; podman: \"None of the challenges sent by server ... are supported\"",
    "Make the registry, or the reverse proxy in front of it, send `WWW-Authenticate: Bearer "
    "realm=\"https://...\",service=\"...\"` (or `Basic realm=...`) with every 401."};
constexpr catalog_entry b02{"B-02", "AUTH_NO_BASIC_CREDENTIALS", severity::error,
    "Registry asked for Basic credentials and the client never sent any",
    "no basic auth credentials",
    "Log in to exactly this registry host as the user that runs the client (`docker login HOST`; for ECR "
    "pipe `aws ecr get-login-password` into `docker login --username AWS --password-stdin HOST`, or use the "
    "ecr-login credential helper), and check that the image names the same host."};
constexpr catalog_entry b03{"B-03", "AUTH_ANONYMOUS_TOKEN_FOR_PRIVATE_REPO", severity::error,
    "Client fetched an anonymous token and the registry refused it",
    "pull access denied for NAME, repository does not exist or may require 'docker login': denied: requested "
    "access to the resource is denied (or \"unauthorized: authentication required\"; containerd: \"failed to "
    "fetch anonymous token: ...\")",
    "Log in to the exact lower-case registry host (`docker login HOST`) as the user that runs the client and "
    "check the credential helper: the token request must carry credentials."};
constexpr catalog_entry b04{"B-04", "AUTH_HOSTNAME_CASE_OR_PORT_MISMATCH", severity::error,
    "Registry host written with upper case or an explicit :443, so the stored login was not used",
    "unauthorized: authentication required (although the login succeeded)",
    "Write image references with the registry's all-lower-case login server and no port, e.g. "
    "`myregistry.azurecr.io/app:tag`, matching the key `docker login` stored."};
constexpr catalog_entry b05{"B-05", "AUTH_BAD_CREDENTIALS", severity::critical,
    "Credentials were rejected",
    "unauthorized: incorrect username or password (podman: \"unable to retrieve auth token: invalid "
    "username/password\"; containerd: \"failed to fetch oauth token: ... 401 Unauthorized\")",
    "Renew the password, access token or service-principal secret and log in again; accounts with 2FA need "
    "an access token, and for ACR use `az acr login` or a principal holding AcrPull/AcrPush."};
constexpr catalog_entry b06{"B-06", "AUTH_OAUTH_POST_FALLBACK", severity::info,
    "Token server refused the OAuth2 POST form, client fell back to GET (expected)",
    "nothing: the client retries with the GET form",
    "Nothing to do; only a failing GET token request afterwards needs attention."};
constexpr catalog_entry b07{"B-07", "AUTH_REALM_UNREACHABLE_OR_WRONG", severity::error,
    "Token server named by the challenge realm is unreachable or wrong",
    "a dial, DNS or TLS error against the realm URL, or a 404 from it",
    "Have the registry advertise a realm URL clients can reach (its external name and https), and let the "
    "realm host through firewalls and egress proxies (for Docker Hub: auth.docker.io)."};
constexpr catalog_entry b08{"B-08", "AUTH_TOKEN_RESPONSE_INVALID", severity::error,
    "Token server answered 200 without a usable token",
    "unable to decode token response: invalid character '<' looking for beginning of value (or "
    "\"authorization server did not include a token in the response\")",
    "Point the realm at the real token endpoint and keep SSO pages or captive proxies away from it: the "
    "answer must be JSON carrying `token` or `access_token`."};
constexpr catalog_entry b09{"B-09", "AUTH_INSUFFICIENT_SCOPE", severity::error,
    "The token does not grant the action the request needs",
    "denied: requested access to the resource is denied (containerd: \"push access denied, repository does "
    "not exist or may require authorization: server message: insufficient_scope: authorization failed\")",
    "Grant the identity pull/push on this repository or fix the image name (namespace, library/ prefix), "
    "then log out and in again so a new token carries the rights."};
constexpr catalog_entry b10{"B-10", "AUTH_TOKEN_REJECTED", severity::error,
    "Registry rejected the bearer token (invalid or expired)",
    "unauthorized: authentication required (ECR: \"denied: Your authorization token has expired. "
    "Reauthenticate and try again.\")",
    "Sync the clocks (NTP), make registry and token server agree on service, issuer and signing "
    "certificates, and log in again (ECR logins last 12 h; the credential helper renews them)."};
constexpr catalog_entry b12{"B-12", "AUTH_NETWORK_RULE_DENIED", severity::critical,
    "Registry firewall rejects the client's IP address",
    "denied: client with IP '...' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.",
    "Allow the client's egress IP in the registry's network rules, fix the private-endpoint DNS so the "
    "private address is used, or reach the registry over its private link."};
constexpr catalog_entry b13{"B-13", "AUTH_STALE_CREDS_BREAK_PUBLIC_PULL", severity::error,
    "Stale credentials break a pull that works anonymously",
    "denied: Your authorization token has expired. Reauthenticate and try again. (or \"unauthorized\")",
    "Log out of that registry (`docker logout HOST`) so the public image is pulled anonymously, or renew "
    "the login."};
constexpr catalog_entry b14{"B-14", "AUTH_CLOUD_IAM_DENIED", severity::error,
    "Cloud IAM denied the request",
    "denied: Permission \"artifactregistry.repositories.downloadArtifacts\" denied on resource ... (ECR: "
    "\"User: arn:aws:iam::... is not authorized to perform: ecr:...\")",
    "Give the identity the role the operation needs (Artifact Registry reader/writer, an ECR policy, "
    "AcrPull/AcrPush) and configure the credential helper for this regional host."};
// clang-format on

std::string join(std::vector<std::string> const& items, std::string_view separator = ", ") {
  std::string out;
  for (auto const& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

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

std::string first_message(entry_facts const& e) {
  for (auto const& err : e.error.errors)
    if (!err.message.empty()) return err.message;
  return e.error.message;
}

std::string granted_text(std::vector<jwt_access> const& access) {
  std::vector<std::string> items;
  for (auto const& a : access) items.push_back(a.type + ":" + a.name + ":" + join(a.actions, ","));
  return items.empty() ? "nothing (empty access list)" : join(items);
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

// Where the auth flow of one trace stands: token requests read once, with their challenge.
class auth_flow {
 public:
  explicit auth_flow(facts_span trace) : trace_(trace), requests_(trace.size()), answers_(trace.size()) {
    for (std::size_t i = 0; i < trace.size(); ++i) {
      if (!is_token(i)) continue;
      requests_[i] = read_token_request(*trace[i].x);
      if (trace[i].x->status == 200) answers_[i] = parse_token_answer(trace[i].x->response_body.text);
    }
  }

  facts_span trace() const { return trace_; }
  bool is_token(std::size_t i) const {
    return trace_[i].cls.kind == request_kind::token && trace_[i].x->kind == entry_kind::exchange;
  }
  token_request const& request(std::size_t i) const { return requests_[i]; }
  token_answer const& answer(std::size_t i) const { return answers_[i]; }

  /// The 401 whose Bearer realm the token request at t follows (catalog §7.3), if in the trace.
  std::optional<std::size_t> challenge_before(std::size_t t) const {
    auto const url = normalize_url(trace_[t].x->url());
    for (std::size_t p = t; p-- > 0;) {
      auto const* bearer = trace_[p].challenge("bearer");
      if (!bearer || !same_client(trace_[p], trace_[t])) continue;
      auto const realm = bearer->param("realm");
      if (!realm.empty() && url.starts_with(normalize_url(realm))) return p;
    }
    return std::nullopt;
  }

  /// The successful token request whose token the registry request at r carries: the same token when
  /// both are visible (redaction keeps equal fingerprints), else the latest one for that host.
  std::optional<std::size_t> issuing_token(std::size_t r) const {
    auto const* auth = trace_[r].request_header("Authorization");
    auto const credential = auth ? bearer_credential(*auth) : std::string_view{};
    std::optional<std::size_t> latest;
    for (std::size_t p = r; p-- > 0;) {
      if (!is_token(p) || trace_[p].x->status != 200 || !same_client(trace_[p], trace_[r])) continue;
      if (!credential.empty() && answers_[p].token == credential) return p;
      if (latest) continue;
      auto const challenge = challenge_before(p);
      if (!challenge || host_of(*trace_[*challenge].x) == host_of(*trace_[r].x)) latest = p;
    }
    return latest;
  }

  /// True when the same client sent something after position p that `ignore` does not skip: the
  /// client moved on. Rules about something that never happened wait for this, so the live window
  /// does not report a retry that is merely still to come.
  template <class Ignore>
  bool moved_on(std::size_t p, Ignore ignore) const {
    for (std::size_t q = p + 1; q < trace_.size(); ++q)
      if (same_client(trace_[p], trace_[q]) && !ignore(q)) return true;
    return trace_[p].trace_complete;  // the trace ended: the client did stop here
  }

  /// A later anonymous token request from the same client to the realm of t that got a token.
  std::optional<std::size_t> anonymous_success_after(std::size_t t) const {
    auto const realm = without_query(trace_[t].x->url());
    for (std::size_t q = t + 1; q < trace_.size(); ++q)
      if (is_token(q) && trace_[q].x->status == 200 && requests_[q].anonymous() &&
          same_client(trace_[t], trace_[q]) && without_query(trace_[q].x->url()) == realm)
        return q;
    return std::nullopt;
  }

 private:
  facts_span trace_;
  std::vector<token_request> requests_;
  std::vector<token_answer> answers_;
};

std::string token_request_text(token_request const& r) {
  std::string text = r.credential.empty() ? "anonymously" : "with " + r.credential;
  if (!r.username.empty()) text += " as " + quoted(r.username);
  if (!r.scopes.empty()) text += " for scope " + quoted(join(r.scopes, " "));
  return text;
}

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
  auto const server_says = first_message(e).empty() ? std::string{} : ": " + quoted(first_message(e));

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
  if (!capture::detail::split_url(realm, realm_parts)) return;
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

bool is_iam_denial(std::string_view text) {
  return (contains_nocase(text, "Permission \"") && contains_nocase(text, "denied on resource")) ||
         contains_nocase(text, "is not authorized to perform:");
}

// What the trace knows about the token the failing request at r carried (catalog §4.6 check 2).
std::optional<jwt_claims> claims_for(auth_flow const& flow, std::size_t r, std::optional<std::size_t> t) {
  if (auto const* auth = flow.trace()[r].request_header("Authorization"))
    if (auto claims = decode_jwt(bearer_credential(*auth))) return claims;
  if (t) return decode_jwt(flow.answer(*t).token);
  return std::nullopt;
}

// B-03/B-04, B-09, B-10, B-12, B-13, B-14 (and B-05 for registries that check Basic themselves) on a
// refused registry request.
void denial_rules(auth_flow const& flow, std::size_t r, std::vector<finding>& out) {
  auto const trace = flow.trace();
  entry_facts const& e = trace[r];
  exchange const& x = *e.x;
  if (!is_api_request(e) || (x.status != 401 && x.status != 403 && x.status != 404)) return;
  auto const text = error_text(e);
  auto const message = first_message(e);
  auto const code = e.error_code();

  if (x.status == 403 && contains_nocase(text, "client with IP") && contains_nocase(text, "not allowed access")) {
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
  if ((x.status == 401 || x.status == 403) && contains_nocase(text, "authorization token has expired")) {
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
      (x.status == 403 && code == "DENIED" && !contains_nocase(text, "quota") && !contains_nocase(text, "limit"));
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

}  // namespace regtrace::capture::registry::detail
