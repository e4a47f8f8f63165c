// Catalog §3 group B through the proxy: challenges, the token realm and token checking at the registry.
#include "tests/support/cloud_world.hpp"

#include "capture/text/base64.hpp"

using namespace regtrace;
using namespace regtrace::test;

namespace {

std::string const manifest_path = "/v2/app/manifests/v1";
std::string const pull_scope = "repository:app:pull";

// base64("alice:s3cret") and base64("alice:wrong")
std::string const alice_basic = "YWxpY2U6czNjcmV0";
std::string const alice_wrong_basic = "YWxpY2U6d3Jvbmc=";

// A registry with token auth holding app:v1, and alice allowed `scopes` on it.
void private_registry(cloud_world& w, std::vector<std::string> scopes) {
  w.upstream.use_bearer_auth();
  w.upstream.add_user("alice", "s3cret", std::move(scopes));
  w.upstream.add_manifest("app", "v1", "application/vnd.oci.image.manifest.v1+json",
                          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})");
}

}  // namespace

TEST_CASE("B-01 AUTH_CHALLENGE_MISSING_OR_MALFORMED: a 401 on /v2/ without WWW-Authenticate",
          "[diagnostics]") {
  cloud_world w;
  // A reverse proxy in front of the registry strips the challenge.
  w.upstream.on(cloud_registry::registry_host, "GET", "/v2/",
                {registry_error(401, "UNAUTHORIZED", "authentication required")});
  CHECK(w.reg("GET", "/v2/").status == 401);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  CHECK(response_header(t.entries[0], "WWW-Authenticate").empty());
  require_finding(t, "B-01", "error", {0}, 0);
}

TEST_CASE("B-02 AUTH_NO_BASIC_CREDENTIALS: a Basic challenge the client never answers", "[diagnostics]") {
  cloud_world w;
  // ECR's challenge (catalog B-02); the client has no login for the host and stops.
  w.upstream.on(cloud_registry::registry_host, "GET", "/v2/",
                {registry_error(401, "UNAUTHORIZED", "Not Authorized",
                                {{"Www-Authenticate",
                                  "Basic realm=\"https://registry.test/\",service=\"ecr.amazonaws.com\""}})});
  CHECK(w.reg("GET", "/v2/").status == 401);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  CHECK(response_header(t.entries[0], "WWW-Authenticate").starts_with("Basic "));
  require_finding(t, "B-02", "error", {0}, std::nullopt);  // "never": concluded when the trace closes
}

TEST_CASE("B-03 AUTH_ANONYMOUS_TOKEN_FOR_PRIVATE_REPO: an anonymous token is refused by the registry",
          "[diagnostics]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  auto challenged = w.reg("GET", manifest_path);
  REQUIRE(challenged.status == 401);
  CHECK(challenged.headers["www-authenticate"] == w.upstream.challenge(pull_scope));
  auto token = fetch_token(w, pull_scope);  // no Authorization, no account=
  CHECK(w.reg("GET", manifest_path, {{"Authorization", "Bearer " + token}}).status == 401);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 3);
  CHECK(t.entries[1].host == cloud_registry::auth_host);
  CHECK(request_header(t.entries[1], "Authorization").empty());
  CHECK(t.entries[2].status == 401);
  require_finding(t, "B-03", "error", {1, 2}, 2, evidence_match::includes);
}

TEST_CASE("B-05 AUTH_BAD_CREDENTIALS: the token realm rejects the Basic credentials", "[diagnostics]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  CHECK(w.reg("GET", "/v2/").status == 401);
  auto refused = w.send("GET", cloud_registry::auth_host,
                        "/token?account=alice&scope=" + pull_scope + "&service=registry.test",
                        {{"Authorization", "Basic " + alice_wrong_basic}});
  CHECK(refused.status == 401);
  CHECK(nlohmann::json::parse(refused.body)["details"] == "incorrect username or password");

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  CHECK(request_header(t.entries[1], "Authorization").starts_with("Basic "));
  CHECK(t.entries[1].status == 401);
  require_finding(t, "B-05", "critical", {1}, 1, evidence_match::includes);
}

TEST_CASE("B-08 AUTH_TOKEN_RESPONSE_INVALID: the realm answers 200 with an SSO login page", "[diagnostics]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  w.upstream.on(cloud_registry::auth_host, "GET", "/token*",
                {reply{200,
                       {{"Content-Type", "text/html; charset=utf-8"}},
                       "<!DOCTYPE html><html><head><title>Sign in to your account</title></head>"
                       "<body><form method=\"post\" action=\"/login\"></form></body></html>",
                       {}}});
  CHECK(w.reg("GET", manifest_path).status == 401);
  auto page =
      w.send("GET", cloud_registry::auth_host, "/token?scope=" + pull_scope + "&service=registry.test",
             {{"Authorization", "Basic " + alice_basic}});
  CHECK(page.status == 200);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  CHECK(t.entries[1].response_body.text.starts_with("<!DOCTYPE html>"));
  require_finding(t, "B-08", "error", {1}, 1, evidence_match::includes);
}

TEST_CASE("B-09 AUTH_INSUFFICIENT_SCOPE: a pull-only token used for a push", "[diagnostics]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  std::string const uploads = "/v2/app/blobs/uploads/";
  auto challenged = w.reg("POST", uploads);
  REQUIRE(challenged.status == 401);
  CHECK(challenged.headers["www-authenticate"] == w.upstream.challenge("repository:app:pull,push"));
  auto token = fetch_token(w, "repository:app:pull,push", alice_basic);  // granted pull only
  auto refused = w.reg("POST", uploads, {{"Authorization", "Bearer " + token}});
  CHECK(refused.status == 401);
  CHECK(refused.headers["www-authenticate"] ==
        w.upstream.challenge("repository:app:pull,push", "insufficient_scope"));

  auto t = w.finish();
  REQUIRE(t.entries.size() == 3);
  // Concluded when the trace closes: until then the client might still retry with a wider scope.
  require_finding(t, "B-09", "error", {2}, std::nullopt, evidence_match::includes);
}

TEST_CASE("B-11 AUTH_PERMISSION_PROPAGATION_DELAY: a push refused, then allowed once the grant took effect",
          "[diagnostics]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  std::string const uploads = "/v2/app/blobs/uploads/";
  auto token = fetch_token(w, "repository:app:pull,push", alice_basic);  // granted pull only
  CHECK(w.reg("POST", uploads, {{"Authorization", "Bearer " + token}}).status == 401);
  w.upstream.add_user("alice", "s3cret",
                      {"repository:app:pull,push"});  // the new role reaches the token server
  auto granted = fetch_token(w, "repository:app:pull,push", alice_basic);
  CHECK(w.reg("POST", uploads, {{"Authorization", "Bearer " + granted}}).status == 202);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 4);
  require_finding(t, "B-11", "warning", {1, 2, 3}, 3);
  for (auto const& f : t.har["log"]["_findings"]) {
    INFO(f.dump(2));
    CHECK((f["severity"] == "info" || f["severity"] == "warning"));  // the retry with the new token worked
  }
}

TEST_CASE("B-10 AUTH_TOKEN_REJECTED: a token not yet valid at the registry (clock skew)", "[diagnostics]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  w.upstream.set_token_clock_skew(std::chrono::hours(2));  // the token server's clock runs ahead
  CHECK(w.reg("GET", manifest_path).status == 401);
  auto token = fetch_token(w, pull_scope, alice_basic);
  auto refused = w.reg("GET", manifest_path, {{"Authorization", "Bearer " + token}});
  CHECK(refused.status == 401);
  CHECK(refused.headers["www-authenticate"] == w.upstream.challenge(pull_scope, "invalid_token"));

  auto t = w.finish();
  REQUIRE(t.entries.size() == 3);
  // Concluded when the trace closes: until then the client might still fetch a fresh token.
  require_finding(t, "B-10", "error", {2}, std::nullopt, evidence_match::includes);
}

TEST_CASE("B-12 AUTH_NETWORK_RULE_DENIED: the ACR firewall rejects the client IP on /v2/", "[diagnostics]") {
  cloud_world w;
  w.upstream.on(cloud_registry::registry_host, "GET", "/v2/", {acr_firewall_denied("127.0.0.1")});
  auto answer = w.reg("GET", "/v2/");
  CHECK(answer.status == 403);
  CHECK(answer.body.find("https://aka.ms/acr/firewall") != std::string::npos);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "B-12", "critical", {0}, 0);
}

TEST_CASE("B-05 AUTH_BAD_CREDENTIALS: skopeo with a wrong password", "[diagnostics][skopeo]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  int status = 0;
  auto const inspect = "inspect --creds alice:wrong docker://" + w.registry() + "/app:v1";
  auto output = skopeo(w, inspect, &status);
  INFO(output);
  CHECK(status != 0);
  CHECK(output.find("invalid username/password") != std::string::npos);  // containers/image's wording

  auto t = w.finish();
  auto const token = index_of(t, [](auto const& x) { return x.host == cloud_registry::auth_host; });
  CHECK(request_header(t.entries[token], "Authorization").starts_with("Basic "));
  CHECK(t.entries[token].status == 401);
  require_finding(t, "B-05", "critical", {token}, token, evidence_match::includes);

  // Replayed: the same refusal, in the same words.
  auto replay = start_replay(w);
  int replayed_status = 0;
  auto again = skopeo(w, *replay, inspect, &replayed_status);
  CHECK(replayed_status == status);
  CHECK(normalised(again) == normalised(output));
  require_answered_from_trace(finish_replay(*replay));
}

TEST_CASE("B-05 AUTH_BAD_CREDENTIALS: containerd's POST password grant and its GET fallback are both refused",
          "[diagnostics]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  w.user_agent = "containerd/1.7.24";
  CHECK(w.reg("HEAD", manifest_path).status == 401);
  auto posted = w.send(
      "POST", cloud_registry::auth_host, "/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
      "client_id=containerd-client&grant_type=password&password=wrong&scope=repository%3Aapp%3Apull"
      "&service=registry.test&username=alice");
  CHECK(posted.status == 401);
  auto fallback =
      w.send("GET", cloud_registry::auth_host, "/token?scope=repository%3Aapp%3Apull&service=registry.test",
             {{"Authorization", "Basic " + alice_wrong_basic}});
  CHECK(fallback.status == 401);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 3);
  CHECK(t.entries[1].method == "POST");
  CHECK(t.entries[1].request_body.text.find("grant_type=password") != std::string::npos);
  // The POST refusal is containerd's expected fallback (B-06); the GET that also fails is B-05.
  require_finding(t, "B-05", "critical", {2}, 2, evidence_match::includes);
  require_finding(t, "B-06", "info", {1, 2}, 2);
}

TEST_CASE("the token realm's POST form grants a working token (the scripted upstream itself)",
          "[diagnostics]") {
  cloud_world w;
  private_registry(w, {"repository:app:pull"});
  auto posted = w.send(
      "POST", cloud_registry::auth_host, "/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
      "client_id=containerd-client&grant_type=password&password=s3cret&scope=repository%3Aapp%3Apull"
      "&service=registry.test&username=alice");
  REQUIRE(posted.status == 200);
  auto answer = nlohmann::json::parse(posted.body);
  CHECK(answer["scope"] == "repository:app:pull");
  auto const token = answer["access_token"].get<std::string>();
  // JWT shape: header.payload.signature, payload with access[] per granted scope (catalog §4.6).
  auto const payload_b64 = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  std::string padded = payload_b64;
  for (auto& c : padded) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (padded.size() % 4) padded += '=';
  auto payload = nlohmann::json::parse(capture::base64_decode(padded).value_or("{}"));
  CHECK(payload["aud"] == "registry.test");
  CHECK(payload["access"][0]["name"] == "app");
  CHECK(payload["access"][0]["actions"] == nlohmann::json::array({"pull"}));
  CHECK(payload["exp"].get<long>() > payload["iat"].get<long>());
  CHECK(w.reg("HEAD", manifest_path, {{"Authorization", "Bearer " + token}}).status == 200);
}
