// Catalog group C rules about names, references and manifest content (C-01..C-07), on hand-written
// traces; the push and server-side rules are in capture_rules_api_push_test.cpp.
#include "tests/support/registry_traces.hpp"

#include <catch2/catch.hpp>

using namespace regtrace::capture::test;
using Catch::Matchers::Contains;
using regtrace::capture::rules::severity;

namespace {

std::string const manifest_unknown = registry_error("MANIFEST_UNKNOWN", "manifest unknown");

}  // namespace

TEST_CASE("C-01: GET of a missing tag after the token flow", "[rules][api]") {
  trace_builder t;
  t.token_flow("app");
  t.add("GET", "/v2/app/manifests/v9", 404, manifest_unknown);
  auto const found = with_id(t.diagnose(), "C-01");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{2});
  CHECK_THAT(found[0].explanation, Contains("'v9'") && Contains("'app'") && Contains("MANIFEST_UNKNOWN"));
  CHECK(found[0].client_error == "manifest for registry.test:5443/app:v9 not found: manifest unknown");
  CHECK(with_id(t.diagnose(), "C-02").empty());
}

TEST_CASE("C-01: a HEAD 404 takes its meaning from the GET that follows", "[rules][api]") {
  trace_builder t;
  t.user_agent = containerd_ua;
  t.add("HEAD", "/v2/app/manifests/v9", 404);
  t.add("GET", "/v2/app/manifests/v9", 404, manifest_unknown);
  auto const found = with_id(t.diagnose(), "C-01");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0, 1});
  CHECK(found[0].client_error == "registry.test:5443/app:v9: not found");
}

TEST_CASE("C-01: a lone HEAD 404 on a pull counts", "[rules][api]") {
  trace_builder t;
  t.user_agent = containerd_ua;
  t.add("HEAD", "/v2/app/manifests/v9", 401);
  t.add("HEAD", "/v2/app/manifests/v9", 404);
  auto const found = with_id(t.diagnose(), "C-01");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{1});
  CHECK_THAT(found[0].explanation, Contains("no body"));
}

TEST_CASE("C-01: Quay's TAG_EXPIRED, and podman's wording", "[rules][api]") {
  trace_builder t;
  t.user_agent = skopeo_ua;
  t.add("GET", "/v2/org/app/manifests/old", 404, registry_error("TAG_EXPIRED", "Tag has expired"));
  auto const found = with_id(t.diagnose(), "C-01");
  REQUIRE(found.size() == 1);
  CHECK_THAT(found[0].explanation, Contains("TAG_EXPIRED") && Contains("expired the tag"));
  CHECK(found[0].client_error == "reading manifest old in registry.test:5443/org/app: manifest unknown");
}

TEST_CASE("C-01 not raised: existence checks before a push, digest tags, mirror misses", "[rules][api]") {
  SECTION("HEAD 404 then PUT of the same manifest") {
    trace_builder t;
    t.user_agent = containerd_ua;
    t.add("HEAD", "/v2/app/manifests/v1", 404);
    t.add("PUT", "/v2/app/manifests/v1", 201);
    CHECK(with_id(t.diagnose(), "C-01").empty());
  }
  SECTION("GET 404 then PUT of the same manifest") {
    trace_builder t;
    t.add("GET", "/v2/app/manifests/v1", 404, manifest_unknown);
    t.add("PUT", "/v2/app/manifests/v1", 201);
    CHECK(with_id(t.diagnose(), "C-01").empty());
  }
  SECTION("sha256-<hex> referrers tag") {
    trace_builder t;
    t.add("GET", "/v2/app/manifests/sha256-" + std::string(64, 'c'), 404, manifest_unknown);
    t.add("GET", "/v2/app/manifests/sha256-" + std::string(64, 'c') + ".sig", 404, manifest_unknown);
    auto const all = t.diagnose();
    CHECK(with_id(all, "C-01").empty());
    CHECK(with_id(all, "E-08").size() == 1);
  }
  SECTION("a mirror misses and the upstream serves") {
    trace_builder t;
    t.add_to("mirror.test", 443, "GET", "/v2/library/alpine/manifests/3.19", 404, manifest_unknown);
    t.add_to("registry-1.docker.io", 443, "GET", "/v2/library/alpine/manifests/3.19", 200, "{}",
             manifest_type);
    auto const all = t.diagnose();
    CHECK(with_id(all, "C-01").empty());
    REQUIRE(with_id(all, "E-07").size() == 1);
  }
  SECTION("skopeo checks the destination, then pushes") {
    trace_builder t;
    t.user_agent = skopeo_ua;
    t.add("GET", "/v2/app/manifests/v1", 404, manifest_unknown);
    t.add("HEAD", "/v2/app/blobs/" + digest('a'), 404);
    t.add("POST", "/v2/app/blobs/uploads/", 202);
    CHECK(with_id(t.diagnose(), "C-01").empty());
  }
  SECTION("the tag appears later (pushed meanwhile)") {
    trace_builder t;
    t.add("GET", "/v2/app/manifests/v1", 404, manifest_unknown);
    t.add("GET", "/v2/app/manifests/v1", 200, "{}", manifest_type);
    CHECK(with_id(t.diagnose(), "C-01").empty());
  }
}

TEST_CASE("C-01: a push, then a pull of a tag that was never pushed", "[rules][api]") {
  trace_builder t;
  t.add("HEAD", "/v2/app/blobs/" + digest('a'), 404);
  t.add("POST", "/v2/app/blobs/uploads/", 202);
  t.add("PUT", "/v2/app/manifests/v1", 201);
  t.add("GET", "/v2/app/manifests/v2", 404, manifest_unknown);
  auto const found = with_id(t.diagnose(), "C-01");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{3});
}

TEST_CASE("C-01: another client's push does not excuse containerd's HEAD 404", "[rules][api]") {
  trace_builder t;
  t.user_agent = skopeo_ua;
  t.add("HEAD", "/v2/app/blobs/" + digest('a'), 404);
  t.add("POST", "/v2/app/blobs/uploads/", 202);
  t.add("PUT", "/v2/app/manifests/v1", 201);
  t.user_agent = containerd_ua;
  t.add("HEAD", "/v2/app/manifests/v1", 200, "x", manifest_type);
  t.add("HEAD", "/v2/app/manifests/nope", 404);
  auto const found = with_id(t.diagnose(), "C-01");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{4});
}

TEST_CASE("C-02: NAME_UNKNOWN", "[rules][api]") {
  trace_builder t;
  t.token_flow("nope");
  t.add("GET", "/v2/nope/manifests/latest", 404,
        registry_error("NAME_UNKNOWN", "repository name not known to registry"));
  auto const all = t.diagnose();
  auto const found = with_id(all, "C-02");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{2});
  CHECK_THAT(found[0].client_error, Contains("repository registry.test:5443/nope not found"));
  CHECK(with_id(all, "C-01").empty());
}

TEST_CASE("C-02: DENIED although the token was bought with credentials", "[rules][api]") {
  trace_builder t;
  t.token_flow("team/secret");
  auto& get = t.add("GET", "/v2/team/secret/manifests/v1", 403,
                    registry_error("DENIED", "requested access to the resource is denied"));
  get.request_headers.push_back({"Authorization", "Bearer <redacted sha256:3f9a12bc>"});
  auto const found = with_id(t.diagnose(), "C-02");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{2, 1});
  CHECK_THAT(found[0].explanation, Contains("with credentials had succeeded"));
  CHECK_THAT(found[0].client_error, Contains("pull access denied for registry.test:5443/team/secret"));
}

TEST_CASE("C-02 not raised for auth-rule denials", "[rules][api]") {
  SECTION("anonymous token: B-03's business") {
    trace_builder t;
    t.add_to("auth.test", 443, "GET", "/token?scope=repository%3Aapp%3Apull&service=registry.test", 200,
             R"({"token":"x"})");
    auto& get = t.add("GET", "/v2/app/manifests/v1", 401, registry_error("DENIED", "denied"));
    get.request_headers.push_back({"Authorization", "Bearer <redacted sha256:3f9a12bc>"});
    CHECK(with_id(t.diagnose(), "C-02").empty());
  }
  SECTION("a 401 followed by a successful retry") {
    trace_builder t;
    t.token_flow("app");
    auto& get = t.add("GET", "/v2/app/manifests/v1", 401, registry_error("DENIED", "denied"));
    get.request_headers.push_back({"Authorization", "Bearer <redacted sha256:3f9a12bc>"});
    t.add("GET", "/v2/app/manifests/v1", 200, "{}", manifest_type);
    CHECK(with_id(t.diagnose(), "C-02").empty());
  }
}

TEST_CASE("C-03: uppercase repository answered NAME_INVALID, or 404 for a broken name", "[rules][api]") {
  trace_builder t;
  t.user_agent = skopeo_ua;
  t.add("GET", "/v2/MyApp/manifests/v1", 400, registry_error("NAME_INVALID", "invalid repository name"));
  t.add("GET", "/v2/team/-x/manifests/v1", 404);
  auto const found = with_id(t.diagnose(), "C-03");
  REQUIRE(found.size() == 2);
  auto const& upper = found[0].explanation.find("MyApp") != std::string::npos ? found[0] : found[1];
  auto const& other = &upper == &found[0] ? found[1] : found[0];
  CHECK(upper.level == severity::error);
  CHECK(evidence_entries(upper) == std::vector<std::size_t>{0});
  CHECK_THAT(upper.explanation, Contains("uppercase") && Contains("'myapp' would be valid"));
  CHECK(evidence_entries(other) == std::vector<std::size_t>{1});
  CHECK_THAT(other.explanation, Contains("separator"));
}

TEST_CASE("C-04: the index lacks the client's platform and the client stops", "[rules][api]") {
  trace_builder t;
  t.token_flow("app");
  t.add("GET", "/v2/app/manifests/v1", 200,
        image_index({{digest('1'), "linux/arm64"}, {digest('2'), "linux/arm/v7"}}), index_type);
  auto const found = with_id(t.diagnose(), "C-04");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{2});
  CHECK_THAT(found[0].explanation,
             Contains("linux/arm64, linux/arm/v7") && Contains("linux/amd64, which the index does not list"));
  CHECK(found[0].client_error == "no matching manifest for linux/amd64 in the manifest list entries");
}

TEST_CASE("C-04: containerd (platform unknown) stops at the index and pulls something else", "[rules][api]") {
  trace_builder t;
  t.user_agent = containerd_ua;
  t.add("GET", "/v2/app/manifests/v1", 200, image_index({{digest('1'), "windows/amd64"}}), index_type);
  CHECK(with_id(t.diagnose(false), "C-04").empty());
  t.add("HEAD", "/v2/tool/manifests/v2", 200, "x", manifest_type);
  auto const found = with_id(t.diagnose(), "C-04");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Contains("windows/amd64"));
  CHECK(found[0].client_error == "registry.test:5443/app:v1: no match for platform in manifest: not found");
}

TEST_CASE("C-04: docker pull --platform for a platform the index lacks (Docker's own is listed)",
          "[rules][api]") {
  trace_builder t;
  t.token_flow("app");
  t.add("GET", "/v2/app/manifests/v1", 200,
        image_index({{digest('1'), "linux/amd64"}, {digest('2'), "linux/arm64"}}), index_type);
  // Live, the child GET of a healthy pull may still come.
  CHECK(with_id(t.diagnose(false), "C-04").empty());
  auto const found = with_id(t.diagnose(), "C-04");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{2});
  CHECK_THAT(found[0].explanation, Contains("linux/amd64, which the index lists") && Contains("--platform"));
  CHECK(found[0].client_error == "no matching manifest for <os>/<arch> in the manifest list entries");
}

TEST_CASE("C-04 not raised when a child is fetched or a person inspects with curl", "[rules][api]") {
  SECTION("child fetched") {
    trace_builder t;
    t.add("GET", "/v2/app/manifests/v1", 200, image_index({{digest('1'), "linux/amd64"}}), index_type);
    t.add("GET", "/v2/app/manifests/" + digest('1'), 200, image_manifest(digest('c'), {digest('d')}),
          manifest_type);
    CHECK(with_id(t.diagnose(), "C-04").empty());
  }
  SECTION("Docker's platform is listed") {
    trace_builder t;
    t.add("GET", "/v2/app/manifests/v1", 200, image_index({{digest('1'), "linux/amd64"}}), index_type);
    CHECK(with_id(t.diagnose(false), "C-04").empty());  // live: the child GET is not recorded yet
  }
  SECTION("curl") {
    trace_builder t;
    t.user_agent = curl_ua;
    t.add("GET", "/v2/app/manifests/v1", 200, image_index({{digest('1'), "linux/arm64"}}), index_type);
    CHECK(t.diagnose().empty());
  }
}

TEST_CASE("C-05: schema 1 manifest and nothing after it", "[rules][api]") {
  std::string const schema1 = R"({"schemaVersion":1,"fsLayers":[{"blobSum":")" + digest('a') + R"("}]})";
  char const* const type = "application/vnd.docker.distribution.manifest.v1+prettyjws";
  SECTION("containerd 2 refuses it") {
    trace_builder t;
    t.user_agent = "containerd/2.0.2";
    t.add("GET", "/v2/old/manifests/v1", 200, schema1, type);
    auto const found = with_id(t.diagnose(), "C-05");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::error);
    CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
    CHECK_THAT(found[0].client_error, Contains("no longer supported since containerd v2.0"));
  }
  SECTION("an older client reads the blobs: fine") {
    trace_builder t;
    t.add("GET", "/v2/old/manifests/v1", 200, schema1, type);
    t.add("GET", "/v2/old/blobs/" + digest('a'), 200);
    CHECK(with_id(t.diagnose(), "C-05").empty());
  }
  SECTION("a client of unknown version stops, then pulls something else") {
    trace_builder t;
    t.user_agent = skopeo_ua;
    t.add("GET", "/v2/old/manifests/v1", 200, schema1, type);
    CHECK(with_id(t.diagnose(false), "C-05").empty());  // live: the blobs may simply not be recorded yet
    t.add("GET", "/v2/other/manifests/v1", 200, "{}", manifest_type);
    CHECK(evidence_entries(with_id(t.diagnose(), "C-05").at(0)) == std::vector<std::size_t>{0});
  }
}

TEST_CASE("C-06: a blob of the fetched manifest is unknown", "[rules][api]") {
  trace_builder t;
  t.token_flow("app");
  t.add("GET", "/v2/app/manifests/v1", 200, image_manifest(digest('c'), {digest('1'), digest('2')}),
        manifest_type);
  t.add("GET", "/v2/app/blobs/" + digest('c'), 200);
  t.add("GET", "/v2/app/blobs/" + digest('1'), 404,
        registry_error("BLOB_UNKNOWN", "blob unknown to registry"));
  auto const found = with_id(t.diagnose(), "C-06");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{4, 2});
  CHECK_THAT(found[0].explanation, Contains(digest('1')) && Contains("registry.test:5443/app:v1"));
}

TEST_CASE("C-06 not raised for a push existence check or a recovered retry", "[rules][api]") {
  trace_builder t;
  t.add("GET", "/v2/app/manifests/v1", 200, image_manifest(digest('c'), {digest('1')}), manifest_type);
  t.add("GET", "/v2/app/blobs/" + digest('1'), 404,
        registry_error("BLOB_UNKNOWN", "blob unknown to registry"));
  t.add("GET", "/v2/app/blobs/" + digest('1'), 200);
  t.add("HEAD", "/v2/app/blobs/" + digest('9'), 404);
  CHECK(with_id(t.diagnose(), "C-06").empty());
}

TEST_CASE("C-07: foreign layer, registry 404 and the foreign URL unreachable", "[rules][api]") {
  std::string const url = "https://go.microsoft.test/layers/" + digest('f');
  std::string const manifest =
      R"({"schemaVersion":2,"config":{"digest":")" + digest('c') +
      R"("},"layers":[{"mediaType":)"
      R"("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","size":5,"digest":")" +
      digest('f') + R"(","urls":[")" + url + R"("]}]})";
  trace_builder t;
  t.add("GET", "/v2/win/manifests/ltsc", 200, manifest, manifest_type);
  t.add("GET", "/v2/win/blobs/" + digest('c'), 200);
  t.add("GET", "/v2/win/blobs/" + digest('f'), 404,
        registry_error("BLOB_UNKNOWN", "blob unknown to registry"));
  auto& foreign = t.add_to("go.microsoft.test", 443, "GET", "/layers/" + digest('f'), 0);
  foreign.response_headers.clear();
  foreign.failure = regtrace::capture::failure_record{regtrace::capture::phase::upstream_connect, "system",
                                                      111, "Connection refused", "connecting"};
  auto const all = t.diagnose();
  auto const found = with_id(all, "C-07");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{2, 3, 0});
  CHECK_THAT(found[0].explanation, Contains(url));
  CHECK(with_id(all, "C-06").empty());  // the foreign layer explains the 404

  SECTION("Windows Docker has not tried the URL yet: wait for it") {
    t.entries.pop_back();
    t.user_agent = "docker/24.0.7 go/go1.20.10 os/windows arch/amd64";
    for (auto& x : t.entries) x.request_headers = {{"User-Agent", t.user_agent}};
    CHECK(with_id(t.diagnose(), "C-07").empty());
  }
  SECTION("Linux Docker only asks the registry: its 404 is the end") {
    t.entries.pop_back();
    auto const linux_only = with_id(t.diagnose(), "C-07");
    REQUIRE(linux_only.size() == 1);
    CHECK(evidence_entries(linux_only[0]) == std::vector<std::size_t>{2, 0});
    CHECK_THAT(linux_only[0].explanation, Contains("never reached the foreign URL"));
  }
  SECTION("healthy when the foreign URL serves the layer") {
    t.entries.back().failure.reset();
    t.entries.back().status = 200;
    CHECK(with_id(t.diagnose(), "C-07").empty());
  }
}
