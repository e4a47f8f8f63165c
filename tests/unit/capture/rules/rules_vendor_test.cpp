// Catalog group E rules (platform and vendor specifics) on hand-written traces.
#include "tests/support/registry_traces.hpp"

#include <catch2/catch.hpp>

using namespace regtrace::capture::test;
using Catch::Matchers::Contains;
using regtrace::capture::rules::severity;

namespace {

constexpr char const* rhel_docker_ua =
    "docker/1.13.1 go/go1.10.3 kernel/3.10.0-1160.el7.x86_64 os/linux arch/amd64 "
    "UpstreamClient(Docker-Client/1.13.1)";

}  // namespace

TEST_CASE("E-01: Red Hat docker 1.13 pushes, then its pull ends unauthorized at the signature lookup",
          "[rules][vendor]") {
  trace_builder t;
  t.user_agent = rhel_docker_ua;
  t.add("PUT", "/v2/app/manifests/v1", 201);
  t.add("GET", "/v2/app/manifests/v1", 200, image_manifest(digest('c'), {digest('1')}), manifest_type);
  t.add("GET", "/extensions/v2/app/signatures/" + digest('9'), 401,
        registry_error("UNAUTHORIZED", "authentication required"));
  auto const found = with_id(t.diagnose(), "E-01");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{2});
  CHECK_THAT(found[0].explanation,
             Contains("docker/1.13.1") && Contains("Pushes by the same client succeeded"));
  CHECK_THAT(found[0].client_error, Contains("unauthorized: authentication required"));
}

TEST_CASE("E-01: a manifest 401 that no retry fixes; not for other docker builds", "[rules][vendor]") {
  trace_builder t;
  t.user_agent = "docker/1.13.1-rhel go/go1.9 os/linux arch/amd64";
  t.add("GET", "/v2/app/manifests/v1", 401, registry_error("UNAUTHORIZED", "authentication required"));
  auto const found = with_id(t.diagnose(), "E-01");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});

  trace_builder other;
  other.add("GET", "/v2/app/manifests/v1", 401, registry_error("UNAUTHORIZED", "authentication required"));
  CHECK(with_id(other.diagnose(), "E-01").empty());
}

TEST_CASE("E-05: ACR quarantine hides the tag and disallows the digest", "[rules][vendor]") {
  trace_builder t;
  t.host = "me.azurecr.io";
  t.port = 443;
  t.add("GET", "/v2/app/manifests/v1", 404,
        registry_error("MANIFEST_UNKNOWN", "manifest tagged by \"v1\" is not found"));
  t.add("GET", "/v2/app/manifests/" + digest('1'), 405,
        registry_error("REGISTRY_DISALLOWED_OPERATION",
                       "The operation is disallowed on this registry, repository or image."));
  auto const all = t.diagnose();
  auto const found = with_id(all, "E-05");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{1, 0});
  CHECK_THAT(found[0].explanation, Contains(digest('1')) && Contains("1 read(s) by tag"));
  // The specific reading replaces the generic ones for these entries.
  CHECK(with_id(all, "C-01").empty());
  CHECK(with_id(all, "C-12").empty());
}

TEST_CASE("E-05: a disallowed read by digest alone", "[rules][vendor]") {
  trace_builder t;
  t.host = "me.azurecr.io";
  t.add("GET", "/v2/app/manifests/" + digest('1'), 405,
        registry_error("REGISTRY_DISALLOWED_OPERATION",
                       "The operation is disallowed on this registry, repository or image."));
  auto const found = with_id(t.diagnose(), "E-05");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
}

TEST_CASE("E-07: a containerd mirror misses, the upstream serves", "[rules][vendor]") {
  trace_builder t;
  t.user_agent = containerd_ua;
  t.add_to("mirror.test", 5000, "HEAD", "/v2/library/alpine/manifests/3.19?ns=docker.io", 404);
  t.add_to("registry-1.docker.io", 443, "HEAD", "/v2/library/alpine/manifests/3.19", 200, "x", manifest_type);
  auto const all = t.diagnose();
  auto const found = with_id(all, "E-07");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::info);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0, 1});
  CHECK_THAT(found[0].explanation,
             Contains("mirror.test:5000") && Contains("registry-1.docker.io") && Contains("ns="));
  CHECK(at_or_above(all, severity::warning).empty());
}

TEST_CASE("E-08: referrers API absent and the tag-schema fallback", "[rules][vendor]") {
  trace_builder t;
  t.user_agent = containerd_ua;
  t.add("GET", "/v2/app/referrers/" + digest('1'), 404, registry_error("UNSUPPORTED", "not found"));
  t.add("GET", "/v2/app/manifests/sha256-" + std::string(64, '1'), 404,
        registry_error("MANIFEST_UNKNOWN", "manifest unknown"));
  auto const all = t.diagnose();
  auto const found = with_id(all, "E-08");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::info);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0, 1});
  CHECK(at_or_above(all, severity::warning).empty());
}

TEST_CASE("E-09: one finding per distinct warning text, every entry carrying it", "[rules][vendor]") {
  trace_builder t;
  t.add("GET", "/v2/app/manifests/v1", 200, "{}", manifest_type)
      .response_headers.push_back({"Warning", R"(299 - "this repository is deprecated")"});
  t.add("GET", "/v2/app/blobs/" + digest('1'), 200);
  t.add("GET", "/v2/app/blobs/" + digest('2'), 200)
      .response_headers.push_back(
          {"Warning", R"(299 - "pulls will need a login from May", 299 - "this repository is deprecated")"});
  auto const found = with_id(t.diagnose(), "E-09");
  REQUIRE(found.size() == 2);
  for (auto const& f : found) {
    CHECK(f.level == severity::info);
    if (f.explanation.find("deprecated") != std::string::npos)
      CHECK(evidence_entries(f) == std::vector<std::size_t>{0, 2});
    else
      CHECK(evidence_entries(f) == std::vector<std::size_t>{2});
  }
  CHECK_THAT(found[0].explanation + found[1].explanation, Contains("pulls will need a login from May"));
}

TEST_CASE("E-03: ACR refuses the AAD token exchange, or answers it without a refresh token; not B-05",
          "[rules][vendor]") {
  trace_builder t;
  t.host = "myreg.azurecr.io";
  t.add("POST", "/oauth2/exchange", 401, registry_error("UNAUTHORIZED", "aad access token is expired"))
      .request_body = text_body(
      "grant_type=access_token&service=myreg.azurecr.io&tenant=72f988bf&"
      "access_token=%3Credacted%20sha256%3A1234abcd%3E");
  t.add("POST", "/oauth2/exchange", 200, R"({"access_token":"<redacted sha256:99aa11bb>"})").request_body =
      text_body("grant_type=access_token&service=myreg.azurecr.io&tenant=72f988bf");
  t.add("POST", "/oauth2/exchange", 200, R"({"refresh_token":"<redacted sha256:77bb22cc>"})").request_body =
      text_body("grant_type=access_token&service=myreg.azurecr.io&tenant=72f988bf");
  auto const all = t.diagnose();
  auto const found = with_id(all, "E-03");
  REQUIRE(found.size() == 2);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Contains("tenant=72f988bf") && Contains("401") &&
                                       Contains("aad access token is expired") && !Contains("redacted"));
  CHECK(evidence_entries(found[1]) == std::vector<std::size_t>{1});
  CHECK_THAT(found[1].explanation, Contains("without a refresh_token"));
  CHECK(with_id(all, "B-05").empty());  // no registry credential was refused
}

TEST_CASE("E-04: docker login to ACR refused 403 by a proxy page or the network rules", "[rules][vendor]") {
  trace_builder t;
  t.host = "myreg.azurecr.io";
  t.port = 443;
  auto& proxy_page = t.add("GET", "/v2/", 403, "<html><title>Access Denied</title></html>", "text/html");
  proxy_page.response_headers = {{"Content-Type", "text/html"}, {"Server", "Zscaler"}};
  t.add("GET", "/v2/", 403,
        registry_error("DENIED",
                       "client with IP '203.0.113.7' is not allowed access. Refer "
                       "https://aka.ms/acr/firewall to grant access."));
  auto const found = with_id(t.diagnose(), "E-04");
  REQUIRE(found.size() == 2);
  CHECK(found[0].level == severity::error);
  CHECK_THAT(found[0].explanation, Contains("Zscaler") && Contains("hop in front of the registry"));
  CHECK(found[0].client_error ==
        "login attempt to https://myreg.azurecr.io/v2/ failed with status: 403 Forbidden");
  CHECK_THAT(found[1].explanation, Contains("network rules"));

  trace_builder elsewhere;  // the same page in front of another registry is A-12's alone
  auto& page = elsewhere.add("GET", "/v2/", 403, "<html><title>Access Denied</title></html>", "text/html");
  page.response_headers = {{"Content-Type", "text/html"}};
  CHECK(with_id(elsewhere.diagnose(), "E-04").empty());
}

TEST_CASE("E-06: gcr.io refuses a push after the shutdown, or says it is shut down", "[rules][vendor]") {
  trace_builder t;
  t.host = "gcr.io";
  t.port = 443;
  t.add("POST", "/v2/proj/app/blobs/uploads/", 403, registry_error("DENIED", "Permission denied"));
  t.add("GET", "/v2/proj/app/manifests/v1", 403,
        registry_error("DENIED",
                       "Container Registry is deprecated and shutting down, please use the auto "
                       "migration tool to migrate to Artifact Registry"));
  t.add("GET", "/v2/proj/tool/manifests/v1", 404, registry_error("MANIFEST_UNKNOWN", "manifest unknown"));
  auto const found = with_id(t.diagnose(), "E-06");
  REQUIRE(found.size() == 2);  // the plain 404 of a missing tag is C-01's
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Contains("since 2025-03-18"));
  CHECK(evidence_entries(found[1]) == std::vector<std::size_t>{1});
  CHECK_THAT(found[1].explanation, Contains("Container Registry is deprecated"));

  trace_builder artifact_registry;  // the same refusal from Artifact Registry is no shutdown
  artifact_registry.host = "europe-docker.pkg.dev";
  artifact_registry.add("POST", "/v2/proj/repo/app/blobs/uploads/", 403,
                        registry_error("DENIED", "Permission denied"));
  CHECK(with_id(artifact_registry.diagnose(), "E-06").empty());
}
