// Catalog §3 group E through the proxy: platform and vendor behaviours.
#include "tests/support/cloud_world.hpp"

#include "capture/rules/finding.hpp"

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
