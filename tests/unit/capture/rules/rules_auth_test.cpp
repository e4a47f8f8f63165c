// Catalog group B rules on hand-written traces: each failure with its evidence, and the healthy flows
// of catalog §2 without any ERROR or CRITICAL finding.
#include "capture/redaction/redaction.hpp"
#include "capture/registry/jwt.hpp"
#include "capture/rules/rules.hpp"
#include "capture/text/base64.hpp"
#include "tests/support/auth_exchanges.hpp"
#include "tests/support/exchanges.hpp"
#include "tests/support/findings.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

namespace regtrace::capture::test {
namespace {

using rules::diagnose;
using rules::finding;
using rules::severity;
using ids = std::vector<std::size_t>;

// Live only: a prefix of a flow, with the client's next requests still to come.
std::vector<finding> serious_live(std::vector<exchange> const& trace) {
  return at_least(live_findings(trace), severity::error, {"B-", "D-"});
}

}  // namespace

TEST_CASE("decode_jwt reads access, audience and times, never the signature", "[rules][jwt]") {
  auto const token =
      jwt({{"iss", "auth.docker.io"},
           {"aud", "registry.docker.io"},
           {"exp", 1800000000},
           {"nbf", 1700000000},
           {"iat", 1700000000},
           {"access", {{{"type", "repository"}, {"name", "library/alpine"}, {"actions", {"pull"}}}}}});
  auto const claims = capture::registry::decode_jwt(token);
  REQUIRE(claims);
  CHECK(claims->algorithm == "ES256");
  CHECK(claims->audiences == std::vector<std::string>{"registry.docker.io"});
  CHECK(claims->expires == 1800000000);
  REQUIRE(claims->access.size() == 1);
  CHECK(claims->access[0].name == "library/alpine");
  CHECK(claims->access[0].actions == std::vector<std::string>{"pull"});
  CHECK_FALSE(capture::registry::decode_jwt("<redacted sha256:0011aabb>"));
  CHECK_FALSE(capture::registry::decode_jwt("abc.def"));
}

TEST_CASE("read_token_request: Basic user kept by redaction, form grants, account=", "[rules][jwt]") {
  auto x = make_exchange("GET", hub_token_url, 200, basic_alice());
  capture::redact(x);
  auto const get = capture::registry::read_token_request(x);
  CHECK(get.credential == "Basic");
  CHECK(get.username == "alice");
  CHECK(get.scopes == std::vector<std::string>{"repository:library/alpine:pull"});
  CHECK_FALSE(get.anonymous());

  auto const post = capture::registry::read_token_request(
      with_request(make_exchange("POST", "https://auth.example/token", 200),
                   "grant_type=password&username=bob&password=pw&service=r.example&scope=repository%3Aa%"
                   "3Apull+repository%3Ab%3Apull"));
  CHECK(post.credential == "password grant");
  CHECK(post.username == "bob");
  CHECK(post.scopes == std::vector<std::string>{"repository:a:pull", "repository:b:pull"});

  CHECK(capture::registry::read_token_request(make_exchange("GET", anonymous_token_url, 200)).anonymous());
}

TEST_CASE("healthy dockerd pull: no auth or redirect finding at error or above", "[rules][healthy]") {
  auto const trace = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      token_200(hub_token_url, basic_alice()),
      with_response(make_exchange("GET", manifest_url, 200, bearer(), registry_headers()),
                    R"({"schemaVersion":2})", "application/vnd.oci.image.index.v1+json"),
      make_exchange(
          "GET", blob_url, 307, bearer(),
          registry_headers({{"Location",
                             "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/"
                             "sha256/4a/4abc/data?verify=1700000000-abcdef"}})),
      make_exchange(
          "GET",
          "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/sha256/4a/4abc/"
          "data?verify=1700000000-abcdef",
          200),
  });
  CHECK(serious(trace).empty());
  CHECK(serious(redacted(trace)).empty());
  CHECK(diagnose(redacted(trace)).empty());
  // Another tool's HAR: no client addresses, order and time only.
  auto anonymous_clients = trace;
  for (auto& x : anonymous_clients) x.client_address.clear();
  CHECK(serious(anonymous_clients).empty());
}

TEST_CASE("healthy containerd pull: POST token fallback is INFO only", "[rules][healthy]") {
  for (int post_status : {404, 405, 401, 400}) {
    auto const trace = sequence({
        challenge_401("HEAD", manifest_url),
        with_request(make_exchange("POST", "https://auth.docker.io/token", post_status),
                     "client_id=containerd-client&grant_type=password&username=alice&password=secret&scope="
                     "repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io"),
        token_200(anonymous_token_url, basic_alice()),
        make_exchange("HEAD", manifest_url, 200, bearer(), registry_headers()),
        make_exchange("GET", manifest_url + std::string("@sha256:aa"), 200, bearer(), registry_headers()),
    });
    auto const all = diagnose(redacted(trace));
    CHECK(at_least(all, severity::warning, {"B-", "D-"}).empty());
    auto const b06 = with_id(all, "B-06");
    REQUIRE(b06.size() == 1);
    CHECK(b06[0].level == severity::info);
    CHECK(evidence_entries(b06[0]) == ids{1, 2});
  }
}

TEST_CASE("healthy htpasswd registry: Basic challenge answered with credentials is not B-02",
          "[rules][healthy]") {
  auto const trace = sequence({
      challenge_401("GET", "https://localhost:5000/v2/", R"(Basic realm="Registry Realm")"),
      make_exchange("GET", "https://localhost:5000/v2/", 200, basic_alice(), registry_headers()),
      make_exchange("GET", "https://localhost:5000/v2/app/manifests/v1", 200, basic_alice(),
                    registry_headers()),
      make_exchange("GET", "https://localhost:5000/v2/app/blobs/sha256:aa", 200, basic_alice(),
                    registry_headers()),
  });
  CHECK(serious(trace).empty());
  CHECK(serious(redacted(trace)).empty());
}

TEST_CASE("healthy anonymous public pull and skopeo/curl flows", "[rules][healthy]") {
  auto const anonymous = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      token_200(anonymous_token_url, {}, jwt({{"access", nlohmann::json::array()}})),
      make_exchange("GET", manifest_url, 200, bearer(jwt({{"access", nlohmann::json::array()}})),
                    registry_headers()),
      make_exchange("GET", blob_url, 200, bearer(jwt({{"access", nlohmann::json::array()}})),
                    registry_headers()),
  });
  CHECK(serious(anonymous).empty());
  CHECK(serious(redacted(anonymous)).empty());

  // curl without credentials against a public repository: 401, anonymous token, retried manifest 200.
  auto const curl = sequence({
      challenge_401("GET", manifest_url),
      token_200(anonymous_token_url, {{"User-Agent", "curl/8.5.0"}}),
      make_exchange("GET", manifest_url, 200, bearer(), registry_headers()),
  });
  CHECK(serious(curl).empty());
}

TEST_CASE("healthy push: HEAD blob 404, uploads, manifest PUT", "[rules][healthy]") {
  auto const push_url =
      "https://auth.docker.io/"
      "token?account=alice&scope=repository%3Aalice%2Fapp%3Apull%2Cpush&service=registry.docker.io";
  auto const base = std::string("https://registry-1.docker.io/v2/alice/app");
  auto const trace = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      token_200(push_url, basic_alice()),
      with_response(make_exchange("HEAD", base + "/blobs/sha256:aa", 404, bearer(), registry_headers()), ""),
      make_exchange("POST", base + "/blobs/uploads/", 202, bearer(),
                    registry_headers({{"Location", "/v2/alice/app/blobs/uploads/u1?_state=xyz"}})),
      make_exchange("PATCH", base + "/blobs/uploads/u1?_state=xyz", 202, bearer(), registry_headers()),
      make_exchange("PUT", base + "/blobs/uploads/u1?_state=xyz&digest=sha256:aa", 201, bearer(),
                    registry_headers()),
      make_exchange("PUT", base + "/manifests/v1", 201, bearer(), registry_headers()),
  });
  CHECK(serious(trace).empty());
  CHECK(serious(redacted(trace)).empty());
}

TEST_CASE("containers/image retry with the scope of an insufficient_scope challenge is healthy",
          "[rules][healthy]") {
  auto const upload = "https://r.example/v2/team/app/blobs/uploads/?mount=sha256:aa&from=team/base";
  auto const trace = sequence({
      make_exchange(
          "POST", upload, 401, bearer(),
          registry_headers(
              {{"WWW-Authenticate",
                R"(Bearer realm="https://r.example/token",service="r.example",scope="repository:team/base:pull",error="insufficient_scope")"}})),
      token_200("https://r.example/"
                "token?scope=repository%3Ateam%2Fapp%3Apull%2Cpush&scope=repository%3Ateam%2Fbase%3Apull&"
                "service=r.example",
                basic_alice(), "second.tok.en"),
      make_exchange("POST", upload, 201, bearer("second.tok.en"), registry_headers()),
  });
  CHECK(serious(trace).empty());
  // Live: while only the 401 is known, nothing is reported yet.
  CHECK(serious_live({trace[0]}).empty());
  CHECK(serious_live({trace[0], trace[1]}).empty());
}

TEST_CASE("B-01: 401 without a challenge, without realm, with a relative realm", "[rules][B-01]") {
  auto const missing =
      sequence({with_response(make_exchange("GET", manifest_url, 401, {}, registry_headers()), "")});
  auto f = with_id(diagnose(missing), "B-01");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0});
  CHECK_THAT(f[0].explanation, Catch::Contains("no WWW-Authenticate"));

  auto const no_realm = sequence({make_exchange("GET", "https://r.example/v2/", 200),
                                  challenge_401("GET", manifest_url, R"(Bearer service="r.example")")});
  f = with_id(diagnose(no_realm), "B-01");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{1});
  CHECK_THAT(f[0].explanation, Catch::Contains("no realm"));

  f = with_id(
      diagnose(sequence({challenge_401("GET", manifest_url, R"(Bearer realm="/token",service="r")")})),
      "B-01");
  REQUIRE(f.size() == 1);
  CHECK_THAT(f[0].explanation, Catch::Contains("\"/token\" is not an absolute"));

  f = with_id(diagnose(sequence({challenge_401("GET", manifest_url, "Negotiate")})), "B-01");
  REQUIRE(f.size() == 1);
  CHECK_THAT(f[0].explanation, Catch::Contains("negotiate"));

  // The client recovered (it reused the ping's challenge): a warning.
  auto const recovered = sequence({
      with_response(make_exchange("GET", manifest_url, 401, bearer(), registry_headers()), ""),
      make_exchange("GET", manifest_url, 200, bearer(), registry_headers()),
  });
  f = with_id(diagnose(recovered), "B-01");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::warning);
}

TEST_CASE("B-02: ECR Basic challenge and the client never sends credentials", "[rules][B-02]") {
  auto const ecr = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/";
  auto const challenge =
      R"(Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com")";
  auto const trace = sequence({challenge_401("GET", ecr, challenge), challenge_401("GET", ecr, challenge)});
  auto const f = with_id(diagnose(trace), "B-02");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("ecr.amazonaws.com"));
  CHECK(f[0].client_error == "no basic auth credentials");
  // Only the 401 so far: the retry with credentials may still come.
  CHECK(with_id(diagnose(sequence({trace[0]}), 0, false), "B-02").empty());
  // A trace that ends at the challenge: the client did stop there.
  CHECK(with_id(diagnose(sequence({trace[0]})), "B-02").size() == 1);
}

TEST_CASE("B-03: anonymous token, then the registry refuses", "[rules][B-03]") {
  auto const empty = jwt({{"aud", "registry.docker.io"}, {"access", nlohmann::json::array()}});
  auto const trace = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      token_200(anonymous_token_url, {}, empty),
      challenge_401("GET", "https://registry-1.docker.io/v2/alice/private/manifests/v1", hub_challenge),
  });
  auto with_auth = trace;
  with_auth[2].request_headers = bearer(empty);
  auto f = with_id(diagnose(with_auth), "B-03");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{1, 2});
  CHECK_THAT(f[0].explanation, Catch::Contains("empty access list"));
  CHECK(with_id(diagnose(redacted(with_auth)), "B-03").size() == 1);

  // containerd: "failed to fetch anonymous token" when the token server wants credentials.
  auto const refused = sequence({
      challenge_401("HEAD", manifest_url),
      with_response(make_exchange("GET", anonymous_token_url, 401), R"({"details":"access denied"})"),
  });
  f = with_id(diagnose(refused), "B-03");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
}

TEST_CASE("B-04: upper-case registry host, anonymous token, 401", "[rules][B-04]") {
  auto const acr =
      R"(Bearer realm="https://myregistry.azurecr.io/oauth2/token",service="myregistry.azurecr.io",scope="repository:app:pull")";
  auto const trace = sequence({
      challenge_401("GET", "https://MyRegistry.azurecr.io/v2/app/manifests/v1", acr),
      token_200("https://myregistry.azurecr.io/oauth2/"
                "token?scope=repository%3Aapp%3Apull&service=myregistry.azurecr.io",
                {}),
      challenge_401("GET", "https://MyRegistry.azurecr.io/v2/app/manifests/v1", acr),
  });
  auto with_auth = trace;
  with_auth[2].request_headers = bearer();
  auto const all = diagnose(with_auth);
  auto const f = with_id(all, "B-04");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{1, 2});
  CHECK_THAT(f[0].explanation, Catch::Contains("MyRegistry.azurecr.io"));
  CHECK(with_id(all, "B-03").empty());
}

TEST_CASE("B-05: token server rejects the credentials", "[rules][B-05]") {
  auto const trace = redacted(sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      with_response(make_exchange("GET", hub_token_url, 401, basic_alice()),
                    R"({"details":"incorrect username or password"})"),
  }));
  auto f = with_id(diagnose(trace), "B-05");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::critical);
  CHECK(evidence_entries(f[0]) == ids{1});
  CHECK_THAT(f[0].explanation,
             Catch::Contains("\"alice\"") && Catch::Contains("incorrect username or password"));
  CHECK_THAT(f[0].explanation, !Catch::Contains("secret"));

  // containerd: POST refused (expected, B-06), then the GET fallback with Basic refused too (B-05).
  auto const containerd = sequence({
      challenge_401("HEAD", manifest_url),
      with_request(make_exchange("POST", "https://auth.docker.io/token", 401),
                   "grant_type=password&username=alice&password=secret&service=registry.docker.io"),
      with_response(make_exchange("GET", anonymous_token_url, 401, basic_alice()),
                    R"({"details":"incorrect username or password"})"),
  });
  auto const all = diagnose(containerd);
  f = with_id(all, "B-05");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{2});
  REQUIRE(with_id(all, "B-06").size() == 1);
  CHECK(with_id(all, "B-06")[0].level == severity::info);

  // A registry checking Basic itself (docker login against /v2/).
  auto const htpasswd = sequence({
      challenge_401("GET", "https://localhost:5000/v2/", R"(Basic realm="Registry Realm")"),
      with_response(
          make_exchange("GET", "https://localhost:5000/v2/", 401, basic_alice(),
                        registry_headers({{"WWW-Authenticate", R"(Basic realm="Registry Realm")"}})),
          R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"),
  });
  f = with_id(diagnose(htpasswd), "B-05");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{1});
  CHECK(with_id(diagnose(htpasswd), "B-02").empty());
}

TEST_CASE("B-07: realm host unreachable, realm path 404", "[rules][B-07]") {
  auto const challenge = R"(Bearer realm="https://auth.internal.corp/token",service="r.example")";
  exchange refused;
  refused.kind = capture::entry_kind::connect_failed;
  refused.host = "auth.internal.corp";
  refused.method = "CONNECT";
  refused.client_address = "127.0.0.1:40001";
  refused.failure = capture::failure_record{capture::phase::resolve, "system", 0, "Host not found", ""};
  auto const trace = sequence({challenge_401("GET", "https://r.example/v2/", challenge), refused});
  auto f = with_id(diagnose(trace), "B-07");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("auth.internal.corp"));

  // The token request inside the tunnel could not reach the realm: regtrace answered 502 itself.
  auto failed = make_exchange("GET", "https://auth.internal.corp/token?service=r.example", 502);
  failed.generated_response = true;
  failed.failure =
      capture::failure_record{capture::phase::upstream_connect, "system", 111, "Connection refused", ""};
  f = with_id(diagnose(sequence({challenge_401("GET", "https://r.example/v2/", challenge), failed})), "B-07");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("Connection refused"));

  auto const missing = sequence({
      challenge_401("GET", "https://r.example/v2/",
                    R"(Bearer realm="https://r.example/auth/token",service="r.example")"),
      with_response(make_exchange("GET", "https://r.example/auth/token?service=r.example", 404),
                    "404 page not found", "text/plain"),
  });
  f = with_id(diagnose(missing), "B-07");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("404"));
}

TEST_CASE("B-08: token answer is an HTML page or lacks a token", "[rules][B-08]") {
  auto const html = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      with_response(make_exchange("GET", hub_token_url, 200, basic_alice()),
                    "<html><head><title>Corporate SSO</title></head><body>login</body></html>", "text/html"),
  });
  auto f = with_id(diagnose(html), "B-08");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("Corporate SSO"));

  auto const no_token = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      with_response(make_exchange("GET", hub_token_url, 200, basic_alice()), R"({"expires_in":300})"),
  });
  f = with_id(diagnose(no_token), "B-08");
  REQUIRE(f.size() == 1);
  CHECK_THAT(f[0].explanation, Catch::Contains("without token or access_token"));
  // A redacted token still counts as a token.
  CHECK(with_id(diagnose(redacted(sequence({html[0], token_200(hub_token_url, basic_alice())}))), "B-08")
            .empty());
}

TEST_CASE("B-09: token lacks push, registry says insufficient_scope", "[rules][B-09]") {
  auto const grant =
      jwt({{"aud", "registry.docker.io"},
           {"access", {{{"type", "repository"}, {"name", "alice/app"}, {"actions", {"pull"}}}}}});
  auto const upload = "https://registry-1.docker.io/v2/alice/app/blobs/uploads/";
  auto const scope_challenge =
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:alice/app:pull,push",error="insufficient_scope")";
  auto const trace = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      token_200("https://auth.docker.io/"
                "token?account=alice&scope=repository%3Aalice%2Fapp%3Apull%2Cpush&service=registry.docker.io",
                basic_alice(), grant),
      with_response(
          make_exchange("POST", upload, 401, bearer(grant),
                        registry_headers({{"WWW-Authenticate", scope_challenge}})),
          R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})"),
      make_exchange("HEAD", "https://registry-1.docker.io/v2/alice/app/blobs/sha256:bb", 200, bearer(grant),
                    registry_headers()),
  });
  auto f = with_id(diagnose(trace), "B-09");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{1, 2});
  CHECK_THAT(f[0].explanation, Catch::Contains("needs push on \"alice/app\""));
  CHECK_THAT(f[0].explanation, Catch::Contains("repository:alice/app:pull,push"));
  CHECK_THAT(f[0].explanation, Catch::Contains("grants repository:alice/app:pull"));
  // Live, before the client went on, the 401 alone is not reported.
  CHECK(with_id(diagnose({trace.begin(), trace.begin() + 3}, 0, false), "B-09").empty());

  // 403 DENIED is final at once; the token request names another repository (drift).
  auto const denied = sequence({
      token_200("https://auth.docker.io/"
                "token?account=alice&scope=repository%3Aapp%3Apull%2Cpush&service=registry.docker.io",
                basic_alice()),
      with_response(
          make_exchange("PUT", "https://registry-1.docker.io/v2/alice/app/manifests/v1", 403, bearer(),
                        registry_headers()),
          R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})"),
  });
  f = with_id(diagnose(redacted(denied)), "B-09");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("name drifted"));
}

TEST_CASE("B-10: invalid_token with a wrong audience; ECR expired login", "[rules][B-10]") {
  auto const token = jwt({{"aud", "mirror.internal"}, {"exp", 1900000000}});
  auto const invalid =
      R"(Bearer realm="https://auth.example/token",service="r.example",error="invalid_token",error_description="token audience mismatch")";
  auto const trace = sequence({
      token_200("https://auth.example/token?scope=repository%3Aapp%3Apull&service=r.example&account=alice",
                basic_alice(), token),
      with_response(make_exchange("GET", "https://r.example/v2/app/manifests/v1", 401, bearer(token),
                                  registry_headers({{"WWW-Authenticate", invalid}})),
                    R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"),
      token_200("https://auth.example/token?scope=repository%3Aapp%3Apull&service=r.example&account=alice",
                basic_alice(), token),
      with_response(make_exchange("GET", "https://r.example/v2/app/manifests/v1", 401, bearer(token),
                                  registry_headers({{"WWW-Authenticate", invalid}})),
                    R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"),
  });
  auto const all = diagnose(trace);
  auto f = with_id(all, "B-10");
  REQUIRE(f.size() == 1);  // the first 401, refused again after a new token
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0, 1, 3});
  CHECK_THAT(f[0].explanation, Catch::Contains("\"mirror.internal\"") && Catch::Contains("\"r.example\""));

  auto const ecr = sequence({with_response(
      make_exchange("GET", "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/app/manifests/v1", 403,
                    bearer(), registry_headers()),
      R"({"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]})")});
  f = with_id(diagnose(ecr), "B-10");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0});
  CHECK(with_id(diagnose(ecr), "B-09").empty());
}

TEST_CASE("B-12: ACR network rule denies the client IP", "[rules][B-12]") {
  auto const trace = sequence({with_response(
      make_exchange("GET", "https://myreg.azurecr.io/v2/", 403, {}, registry_headers()),
      R"({"errors":[{"code":"DENIED","message":"client with IP '203.0.113.7' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."}]})")});
  auto const f = with_id(diagnose(trace), "B-12");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::critical);
  CHECK(evidence_entries(f[0]) == ids{0});
  CHECK_THAT(f[0].explanation, Catch::Contains("203.0.113.7"));
}

TEST_CASE("B-13: stale credentials against a public registry", "[rules][B-13]") {
  auto const token_url =
      "https://public.ecr.aws/token/?scope=aws%3Aamazonlinux%3Apull&service=public.ecr.aws";
  auto const stale = sequence({
      challenge_401("GET", "https://public.ecr.aws/v2/amazonlinux/amazonlinux/manifests/latest",
                    R"(Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws")"),
      with_response(
          make_exchange("GET", token_url, 403, basic_alice()),
          R"({"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]})"),
  });
  auto f = with_id(diagnose(stale), "B-13");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{1});
  CHECK(with_id(diagnose(stale), "B-05").empty());

  auto const works_anonymously = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      with_response(make_exchange("GET", hub_token_url, 401, basic_alice()),
                    R"({"details":"incorrect username or password"})"),
      token_200(anonymous_token_url, {}),
      make_exchange("GET", manifest_url, 200, bearer(), registry_headers()),
  });
  f = with_id(diagnose(works_anonymously), "B-13");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{1, 2});
}

TEST_CASE("B-14: Artifact Registry IAM denial", "[rules][B-14]") {
  auto const trace = sequence({with_response(
      make_exchange("HEAD", "https://europe-docker.pkg.dev/v2/proj/repo/app/blobs/sha256:aa", 403, bearer(),
                    registry_headers()),
      R"x({"errors":[{"code":"DENIED","message":"Permission \"artifactregistry.repositories.downloadArtifacts\" denied on resource \"projects/proj/locations/europe/repositories/repo\" (or it may not exist)"}]})x")});
  auto const all = diagnose(trace);
  auto const f = with_id(all, "B-14");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0});
  CHECK(with_id(all, "B-09").empty());
}

}  // namespace regtrace::capture::test
