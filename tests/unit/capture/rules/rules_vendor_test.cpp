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
