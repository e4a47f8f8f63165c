// Catalog §3 group E through the proxy: platform and vendor behaviours.
#include "tests/support/cloud_world.hpp"

#include "capture/rules/finding.hpp"
#include "tests/support/docker_daemon.hpp"

using namespace regtrace;
using namespace regtrace::test;

namespace {

std::string const registry_host = cloud_registry::registry_host;
std::string const docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
std::string const manifest_body =
    R"({"schemaVersion":2,"mediaType":")" + docker_manifest + R"(","layers":[]})";

}  // namespace

TEST_CASE("E-01 RHEL_DOCKER_SIGNATURE_VERIFICATION: RHEL docker 1.13 pushes, then its pull gets 401",
          "[diagnostics]") {
  cloud_world w;
  // The projectatomic build's User-Agent; --signature-verification is on by default there.
  w.user_agent =
      "docker/1.13.1 go/go1.10.3 kernel/3.10.0-1160.el7.x86_64 os/linux arch/amd64 "
      "UpstreamClient(Docker-Client/1.13.1)";
  auto const digest = digest_of(manifest_body);
  w.upstream.on(registry_host, "GET", "/extensions/v2/app/signatures/" + digest,
                {registry_error(401, "UNAUTHORIZED", "authentication required",
                                {{"Www-Authenticate", w.upstream.challenge("repository:app:pull")}})});
  CHECK(w.reg("PUT", "/v2/app/manifests/v1", {{"Content-Type", docker_manifest}}, manifest_body).status ==
        201);
  CHECK(w.reg("GET", "/v2/app/manifests/v1", {{"Accept", docker_manifest}}).status == 200);
  CHECK(w.reg("GET", "/extensions/v2/app/signatures/" + digest).status == 401);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 3);
  require_finding(t, "E-01", "error", {2}, 2, evidence_match::includes);
}

TEST_CASE("E-05 ACR_QUARANTINE: the tag is hidden and the digest is disallowed", "[diagnostics]") {
  cloud_world w;
  auto const digest = digest_of(manifest_body);
  w.upstream.on(registry_host, "GET", "/v2/app/manifests/v1",
                {registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")});
  w.upstream.on(registry_host, "GET", "/v2/app/manifests/" + digest, {acr_disallowed()});
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 404);
  CHECK(w.reg("GET", "/v2/app/manifests/" + digest).status == 405);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  require_finding(t, "E-05", "error", {0, 1}, 1);
}

TEST_CASE("E-09 REGISTRY_WARNING_HEADER: a Warning 299 is surfaced once per distinct text", "[diagnostics]") {
  cloud_world w;
  reply deprecated{200,
                   {{"Content-Type", docker_manifest},
                    {"Docker-Distribution-Api-Version", "registry/2.0"},
                    {"Warning", R"(299 - "this repository is deprecated; pull registry.test/app2 instead")"}},
                   manifest_body,
                   {}};
  w.upstream.on(registry_host, "GET", "/v2/app/manifests/v1", {deprecated});
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 200);
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 200);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  CHECK(response_header(t.entries[0], "Warning").starts_with("299 - "));
  require_finding(t, "E-09", "info", {0}, 0, evidence_match::includes);
  auto const& findings = t.har["log"].value("_findings", nlohmann::json::array());
  CHECK(std::count_if(findings.begin(), findings.end(), [](auto const& f) { return f["id"] == "E-09"; }) ==
        1);
}

TEST_CASE("require_finding reads log._findings and _regtrace.findings as the trace writer writes them",
          "[diagnostics]") {
  capture::rules::finding f;
  f.id = "E-05";
  f.name = "ACR_QUARANTINE";
  f.level = capture::rules::severity::error;
  f.evidence = {{1, "GET https://registry.test/v2/app/manifests/sha256:… → 405"}, {0, "GET … → 404"}};
  finished_trace t;
  t.entries.resize(2);
  t.har = {{"log",
            {{"entries",
              {{{"_regtrace", {{"findings", nlohmann::json::array()}}}},
               {{"_regtrace", {{"findings", {"E-05"}}}}}}},
             {"_findings", {capture::rules::to_json(f)}}}}};
  require_finding(t, "E-05", "error", {0, 1}, 1);
  require_finding(t, "E-05", "error", {1}, 1, evidence_match::includes);
}

TEST_CASE("E-03 ACR_AAD_TOKEN_EXCHANGE: the registry refuses to exchange an expired Entra ID token",
          "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "POST", "/oauth2/exchange",
                {registry_error(401, "UNAUTHORIZED", "aad access token is expired")});
  // az acr login's form (Azure/acr docs/AAD-OAuth.md); the AAD token is a secret the trace redacts.
  auto const refused =
      w.reg("POST", "/oauth2/exchange", {{"Content-Type", "application/x-www-form-urlencoded"}},
            "grant_type=access_token&service=registry.test&tenant=72f988bf&access_token="
            "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiI3MmY5ODhiZiJ9.c2lnbmF0dXJl");
  CHECK(refused.status == 401);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  CHECK(t.entries[0].request_body.text.find("eyJ0aWQiOiI3MmY5ODhiZiJ9") == std::string::npos);
  require_finding(t, "E-03", "error", {0}, 0);
  auto const& findings = t.har["log"]["_findings"];
  CHECK(std::none_of(findings.begin(), findings.end(), [](auto const& f) { return f["id"] == "B-05"; }));
}

TEST_CASE("E-06 GCR_SHUTDOWN: gcr.io refuses a push and says Container Registry is shut down",
          "[diagnostics]") {
  cloud_world w;
  w.upstream.on(cloud_registry::gcr_host, "POST", "/v2/proj/app/blobs/uploads/",
                {registry_error(403, "DENIED",
                                "Container Registry is deprecated and shutting down, please use the auto "
                                "migration tool to migrate to Artifact Registry")});
  CHECK(w.send("POST", cloud_registry::gcr_host, "/v2/proj/app/blobs/uploads/").status == 403);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "E-06", "error", {0}, 0);
}

TEST_CASE("E-04 ACR_PROXY_403_LOGIN: docker login to ACR meets a proxy's 403 page", "[diagnostics][docker]") {
  cloud_world w;
  w.upstream.on(cloud_registry::acr_host, "GET", "/v2/", {waf_403_page()});
  auto const registry = w.upstream.authority(cloud_registry::acr_host);
  auto const login = [&](proxy_fixture const& via, std::string const& name, int* status) {
    docker_daemon daemon(w.dir / name, via.port(), via.ca_file(), {registry});
    return daemon.docker("login " + registry + " -u alice -p s3cret", status);
  };
  int status = 0;
  auto const output = login(w.proxy, "docker", &status);
  INFO(output);
  CHECK(status != 0);
  auto const refused = "login attempt to https://" + registry + "/v2/ failed with status: 403 Forbidden";
  CHECK(output.find(refused) != std::string::npos);

  auto t = w.finish();
  std::vector<std::size_t> pings;
  for (std::size_t i = 0; i < t.entries.size(); ++i)
    if (t.entries[i].target == "/v2/" && t.entries[i].status == 403) pings.push_back(i);
  REQUIRE_FALSE(pings.empty());
  require_finding(t, "E-04", "error", pings, pings.front());
  for (auto const& f : t.har["log"]["_findings"])
    if (f["id"] == "E-04") CHECK(f["client_error"] == refused);

  // Replayed: the same page, the same refusal.
  auto replay = start_replay(w);
  auto const again = login(*replay, "docker-replayed", &status);
  INFO("replayed: " << again);
  CHECK(again.find(refused) != std::string::npos);
  require_answered_from_trace(finish_replay(*replay));
}
