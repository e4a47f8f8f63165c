#pragma once
// Internal to the group B rules (rules_auth.cpp: challenges and token requests; rules_auth_denial.cpp:
// refused registry requests): the catalog texts, the helpers both read, and the auth flow of a trace.

#include "capture/text/ascii.hpp"
#include "capture/text/display.hpp"
#include "capture/registry/jwt.hpp"
#include "capture/rules/rules_detail.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>


namespace regtrace::capture::rules::detail {

// clang-format off
inline constexpr catalog_entry b01{"B-01", "AUTH_CHALLENGE_MISSING_OR_MALFORMED", severity::error,
    "Registry answered 401 without a usable authentication challenge",
    "containerd: \"no realm specified for token auth challenge\" or \"failed to find supported auth scheme\"; "
    "Docker: \"unauthorized: ...\"; podman: \"None of the challenges sent by server ... are supported\"",
    "Make the registry, or the reverse proxy in front of it, send `WWW-Authenticate: Bearer "
    "realm=\"https://...\",service=\"...\"` (or `Basic realm=...`) with every 401."};
inline constexpr catalog_entry b02{"B-02", "AUTH_NO_BASIC_CREDENTIALS", severity::error,
    "Registry asked for Basic credentials and the client never sent any",
    "no basic auth credentials",
    "Log in to exactly this registry host as the user that runs the client (`docker login HOST`; for ECR "
    "pipe `aws ecr get-login-password` into `docker login --username AWS --password-stdin HOST`, or use the "
    "ecr-login credential helper), and check that the image names the same host."};
inline constexpr catalog_entry b03{"B-03", "AUTH_ANONYMOUS_TOKEN_FOR_PRIVATE_REPO", severity::error,
    "Client fetched an anonymous token and the registry refused it",
    "pull access denied for NAME, repository does not exist or may require 'docker login': denied: requested "
    "access to the resource is denied (or \"unauthorized: authentication required\"; containerd: \"failed to "
    "fetch anonymous token: ...\")",
    "Log in to the exact lower-case registry host (`docker login HOST`) as the user that runs the client and "
    "check the credential helper: the token request must carry credentials."};
inline constexpr catalog_entry b04{"B-04", "AUTH_HOSTNAME_CASE_OR_PORT_MISMATCH", severity::error,
    "Registry host written with upper case or an explicit :443, so the stored login was not used",
    "unauthorized: authentication required (although the login succeeded)",
    "Write image references with the registry's all-lower-case login server and no port, e.g. "
    "`myregistry.azurecr.io/app:tag`, matching the key `docker login` stored."};
inline constexpr catalog_entry b05{"B-05", "AUTH_BAD_CREDENTIALS", severity::critical,
    "Credentials were rejected",
    "unauthorized: incorrect username or password (podman: \"unable to retrieve auth token: invalid "
    "username/password\"; containerd: \"failed to fetch oauth token: ... 401 Unauthorized\")",
    "Renew the password, access token or service-principal secret and log in again; accounts with 2FA need "
    "an access token, and for ACR use `az acr login` or a principal holding AcrPull/AcrPush."};
inline constexpr catalog_entry b06{"B-06", "AUTH_OAUTH_POST_FALLBACK", severity::info,
    "Token server refused the OAuth2 POST form, client fell back to GET (expected)",
    "nothing: the client retries with the GET form",
    "Nothing to do; only a failing GET token request afterwards needs attention."};
inline constexpr catalog_entry b07{"B-07", "AUTH_REALM_UNREACHABLE_OR_WRONG", severity::error,
    "Token server named by the challenge realm is unreachable or wrong",
    "a dial, DNS or TLS error against the realm URL, or a 404 from it",
    "Have the registry advertise a realm URL clients can reach (its external name and https), and let the "
    "realm host through firewalls and egress proxies (for Docker Hub: auth.docker.io)."};
inline constexpr catalog_entry b08{"B-08", "AUTH_TOKEN_RESPONSE_INVALID", severity::error,
    "Token server answered 200 without a usable token",
    "unable to decode token response: invalid character '<' looking for beginning of value (or "
    "\"authorization server did not include a token in the response\")",
    "Point the realm at the real token endpoint and keep SSO pages or captive proxies away from it: the "
    "answer must be JSON carrying `token` or `access_token`."};
inline constexpr catalog_entry b09{"B-09", "AUTH_INSUFFICIENT_SCOPE", severity::error,
    "The token does not grant the action the request needs",
    "denied: requested access to the resource is denied (containerd: \"push access denied, repository does "
    "not exist or may require authorization: server message: insufficient_scope: authorization failed\")",
    "Grant the identity pull/push on this repository or fix the image name (namespace, library/ prefix), "
    "then log out and in again so a new token carries the rights."};
inline constexpr catalog_entry b10{"B-10", "AUTH_TOKEN_REJECTED", severity::error,
    "Registry rejected the bearer token (invalid or expired)",
    "unauthorized: authentication required (ECR: \"denied: Your authorization token has expired. "
    "Reauthenticate and try again.\")",
    "Sync the clocks (NTP), make registry and token server agree on service, issuer and signing "
    "certificates, and log in again (ECR logins last 12 h; the credential helper renews them)."};
inline constexpr catalog_entry b11{"B-11", "AUTH_PERMISSION_PROPAGATION_DELAY", severity::warning,
    "Access was denied, then granted to the same identity and scope later: the permission was still propagating",
    "denied: requested access to the resource is denied (at first; the same command works minutes later)",
    "Wait after granting a role (Azure Container Registry caches permissions for up to about 10 minutes, "
    "plus Entra ID propagation), then `docker logout HOST` and log in again: tokens issued before the change "
    "keep the old rights."};
inline constexpr catalog_entry b12{"B-12", "AUTH_NETWORK_RULE_DENIED", severity::critical,
    "Registry firewall rejects the client's IP address",
    "denied: client with IP '...' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.",
    "Allow the client's egress IP in the registry's network rules, fix the private-endpoint DNS so the "
    "private address is used, or reach the registry over its private link."};
inline constexpr catalog_entry b13{"B-13", "AUTH_STALE_CREDS_BREAK_PUBLIC_PULL", severity::error,
    "Stale credentials break a pull that works anonymously",
    "denied: Your authorization token has expired. Reauthenticate and try again. (or \"unauthorized\")",
    "Log out of that registry (`docker logout HOST`) so the public image is pulled anonymously, or renew "
    "the login."};
inline constexpr catalog_entry b14{"B-14", "AUTH_CLOUD_IAM_DENIED", severity::error,
    "Cloud IAM denied the request",
    "denied: Permission \"artifactregistry.repositories.downloadArtifacts\" denied on resource ... (ECR: "
    "\"User: arn:aws:iam::... is not authorized to perform: ecr:...\")",
    "Give the identity the role the operation needs (Artifact Registry reader/writer, an ECR policy, "
    "AcrPull/AcrPush) and configure the credential helper for this regional host."};
// clang-format on

/// The URL without its query, normalised (normalize_url): a realm to compare.
std::string without_query(std::string_view url);
/// A registry API request (not a token request, not object storage).
bool is_api_request(entry_facts const& e);
/// Every message the error body carries, for matching vendor texts (catalog §1.3).
std::string error_text(entry_facts const& e);
/// The action a registry request needs (catalog §4.2).
std::string_view needed_action(exchange const& x);
/// Catalog B-04: Docker looks credentials up by the host exactly as typed.
std::string host_spelling_problem(exchange const& x);
/// How a token request asked: "anonymously" or "with Basic ... as \"alice\" for scope ...".
std::string token_request_text(token_request const& r);

/// Where the auth flow of one trace stands: token requests read once, with their challenge.
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

/// B-03/B-04, B-09, B-10, B-12, B-13, B-14 (and B-05 for registries that check Basic themselves) on a
/// refused registry request at r.
void denial_rules(auth_flow const& flow, std::size_t r, std::vector<finding>& out);
/// B-11: a denial that a later token for the same identity and scope no longer meets
/// (rules_auth_propagation.cpp).
void permission_propagation(auth_flow const& flow, std::vector<finding>& out);

}  // namespace regtrace::capture::rules::detail
