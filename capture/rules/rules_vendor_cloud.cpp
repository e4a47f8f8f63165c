// Catalog §3 group E on cloud providers' own endpoints and lifecycles: Azure Container Registry's
// exchange of an Entra ID (AAD) token for a registry refresh token (E-03), a login to ACR refused by a
// proxy or firewall (E-04), Google Container Registry's shutdown (E-06).
#include "capture/rules/rules_api_common.hpp"
#include "capture/rules/rules_detail.hpp"
#include "capture/text/ascii.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry e03{
    "E-03",
    "ACR_AAD_TOKEN_EXCHANGE",
    severity::error,
    "Azure Container Registry refused to exchange the Entra ID (AAD) token for a registry refresh token",
    "az acr login: \"Unable to get AAD authorization tokens with message: ...\" (az acr check-health: "
    "CONNECTIVITY_REFRESH_TOKEN_ERROR)",
    "Run `az login` again (Entra ID tokens expire after a few hours), make sure the tenant is the "
    "registry's, and that Entra ID authentication is enabled on the registry; with `az acr login "
    "--expose-token` log in as 00000000-0000-0000-0000-000000000000."};
constexpr catalog_entry e04{
    "E-04",
    "ACR_PROXY_403_LOGIN",
    severity::error,
    "A login to Azure Container Registry was refused with 403 before it reached the registry's login",
    "login attempt to https://REGISTRY/v2/ failed with status: 403 Forbidden",
    "Find who answered 403: let <registry>.azurecr.io and its data endpoints through the proxy or "
    "firewall, or allow the client's egress IP in the registry's network rules."};
constexpr catalog_entry e06{
    "E-06",
    "GCR_SHUTDOWN",
    severity::error,
    "Google Container Registry (gcr.io) no longer serves this request: it is shut down",
    "denied: Container Registry is deprecated and shutting down, please use the auto migration tool to "
    "migrate to Artifact Registry ...",
    "Move the images to Artifact Registry (<region>-docker.pkg.dev), or create gcr.io repositories in "
    "Artifact Registry so that gcr.io names keep working; quote the shutdown date Google shows for the "
    "project, it has moved several times."};

// ACR's AAD-OAuth endpoint (catalog §4.4): grant_type=access_token&service=&tenant=&access_token=.
bool is_acr_exchange(entry_facts const& e) {
  return e.x->method == "POST" && path_of(e.x->target).ends_with("/oauth2/exchange");
}

// "grant_type=access_token, tenant=..., service=..." from the form, never the token itself.
std::string exchange_form(entry_facts const& e) {
  std::string text;
  for (auto const& p : split_query(e.x->request_body.text))
    if (p.key == "grant_type" || p.key == "tenant" || p.key == "service")
      text += (text.empty() ? "" : ", ") + std::string(p.key) + "=" + percent_decode(p.value, true);
  return text;
}

// Why the exchange gave the client no refresh token; "" when it did.
std::string exchange_problem(entry_facts const& e) {
  auto const status = e.x->status;
  if (status >= 400 && status < 500) {
    auto const message = error_message(e);
    return "was answered " + std::to_string(status) +
           (message.empty() ? "" : " (" + detail::quoted(message) + ")");
  }
  if (status != 200 || !e.x->response_body.text_kept || e.x->response_body.text_truncated) return {};
  auto const body = nlohmann::json::parse(e.x->response_body.text, nullptr, false);
  if (body.is_object() && body.contains("refresh_token")) return {};
  return "was answered 200 without a refresh_token";
}

// E-03: the AAD token exchange failed, so the docker login that follows has no password.
void aad_exchange_failed(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (!is_acr_exchange(e)) continue;
    auto const problem = exchange_problem(e);
    if (problem.empty()) continue;
    auto const form = exchange_form(e);
    auto f = make_finding(e03,
                          "POST " + e.x->url() + (form.empty() ? "" : " (" + form + ")") + " " + problem +
                              ": the client gets no ACR refresh token, so the docker login with user "
                              "00000000-0000-0000-0000-000000000000 that follows cannot succeed.",
                          {evidence_of(e, "AAD token exchange")});
    f.cause = host_of(*e.x) + (e.x->status == 200 ? " no refresh token" : " refused");
    out.push_back(std::move(f));
  }
}

// Who refused the /v2/ ping of an ACR login with 403: a hop in front of the registry, or its network
// rules (B-12 names those in the registry's words); "" for the registry's own 403, the auth rules' to read.
std::string login_refused_by(entry_facts const& e) {
  if (e.cls.kind != request_kind::ping || e.x->status != 403 || e.x->generated_response ||
      !host_of(*e.x).ends_with(".azurecr.io"))
    return {};
  bool const registry_answer = e.response_header("Docker-Distribution-Api-Version") != nullptr &&
                               e.error.kind != error_body::format::html;
  if (!registry_answer) {
    auto const hop = response_headers_text(e, {"Server", "Via"});
    return "a hop in front of the registry answered (" +
           (hop.empty() ? std::string("no Server or Via") : hop) + ")";
  }
  return icontains(error_message(e), "not allowed access")
             ? "the registry's network rules refused the client's address"
             : std::string{};
}

// E-04: docker login to ACR reports a refused login that no credential check caused. One cause per
// host and refusing party: a login pings /v2/ twice.
void login_refused_on_the_way(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    auto const who = login_refused_by(e);
    if (who.empty()) continue;
    auto const authority = e.x->authority();
    auto f = make_finding(e04,
                          "GET https://" + authority + "/v2/ was answered 403: " + who +
                              ". docker login reports this as a failed login although no credential was checked.",
                          {evidence_of(e, who)});
    f.client_error = "login attempt to https://" + authority + "/v2/ failed with status: 403 Forbidden";
    f.cause = authority + " " + who;
    out.push_back(std::move(f));
  }
}

// Google stopped writes to gcr.io on 2025-03-18 (catalog E-06); reads follow on dates it keeps moving.
constexpr std::int64_t gcr_writes_end = 1742256000;  // 2025-03-18T00:00:00Z

bool is_gcr(std::string const& host) {
  return host == "gcr.io" || host.ends_with(".gcr.io");
}

// A gcr.io registry request refused: 4xx other than the 401 every token flow starts with.
bool refused_by_gcr(entry_facts const& e) {
  auto const status = e.x->status;
  return is_gcr(host_of(*e.x)) && is_registry_request(e) && status >= 403 && status < 500 &&
         !e.x->generated_response;
}

// E-06: a gcr.io request refused after the shutdown: a write after the date, or any request whose
// answer says so.
void gcr_shutdown(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (!refused_by_gcr(e)) continue;
    auto const text = error_text_lower(e);
    bool const says_so = icontains(text, "container registry is deprecated") ||
                         icontains(text, "shutting down") || icontains(text, "shut down");
    bool const late_write = !is_read(e) && epoch_seconds(*e.x) >= gcr_writes_end;
    if (!says_so && !late_write) continue;
    auto const why =
        says_so
            ? ": the answer says Container Registry is shut down (" + detail::quoted(error_message(e)) + ")."
            : ": gcr.io has refused writes since 2025-03-18, when Container Registry stopped "
              "taking them.";
    auto f = make_finding(e06, describe(e) + why,
                          {evidence_of(e, says_so ? "shutdown notice" : "write after 2025-03-18")});
    f.cause = host_of(*e.x) + (says_so ? " notice" : " late write");
    out.push_back(std::move(f));
  }
}

}  // namespace

void vendor_cloud_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {aad_exchange_failed, login_refused_on_the_way, gcr_shutdown};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
