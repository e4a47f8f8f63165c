// No false alarms (SPEC §5): healthy pulls and pushes by dockerd, containerd, skopeo and curl must not
// produce an ERROR or CRITICAL finding. Hand-written after the catalog §2 baseline flows.
#include "capture/body/body_recorder.hpp"
#include "tests/support/registry_traces.hpp"

#include <catch2/catch.hpp>

using namespace regtrace::capture::test;
using regtrace::capture::rules::severity;

namespace {

using strings = std::vector<std::string>;

void upload(trace_builder& t, std::string const& repo, std::string const& blob, std::string const& id) {
  t.add("HEAD", "/v2/" + repo + "/blobs/" + blob, 404);
  t.add("POST", "/v2/" + repo + "/blobs/uploads/", 202)
      .response_headers.push_back({"Location", "/v2/" + repo + "/blobs/uploads/" + id + "?_state=s1"});
  t.add("PATCH", "/v2/" + repo + "/blobs/uploads/" + id + "?_state=s1", 202).request_body =
      text_body("chunk of " + blob);
  t.add("PUT", "/v2/" + repo + "/blobs/uploads/" + id + "?_state=s2&digest=" + blob, 201);
}

// A manifest fetched by digest hashes to it, or A-10 rightly says the body was altered.
std::string digest_of(std::string const& body) {
  return "sha256:" + regtrace::capture::sha256_hex(body);
}

}  // namespace

TEST_CASE("healthy: a whole dockerd pull with token auth and a storage redirect", "[rules][api][healthy]") {
  trace_builder t;
  t.token_flow("app");
  auto const amd64 = image_manifest(digest('c'), {digest('a'), digest('b')});
  t.add("GET", "/v2/app/manifests/v1", 200,
        image_index({{digest_of(amd64), "linux/amd64"}, {digest('2'), "linux/arm64"}}), index_type);
  t.add("GET", "/v2/app/manifests/" + digest_of(amd64), 200, amd64, manifest_type);
  t.add("GET", "/v2/app/blobs/" + digest('c'), 200);
  t.add("GET", "/v2/app/blobs/" + digest('a'), 307)
      .response_headers.push_back(
          {"Location", "https://storage.test/blobs/a?X-Amz-Signature=x&X-Amz-Algorithm=y"});
  t.add_to("storage.test", 443, "GET", "/blobs/a?X-Amz-Signature=x&X-Amz-Algorithm=y", 200)
      .response_headers.clear();
  t.add("GET", "/v2/app/blobs/" + digest('b'), 200);
  CHECK(at_or_above(t.diagnose(), severity::warning) == strings{});
}

TEST_CASE("healthy: a dockerd push with existence checks, a mount attempt answered 202",
          "[rules][api][healthy]") {
  trace_builder t;
  t.token_flow("app", "pull,push");
  upload(t, "app", digest('a'), "u1");
  t.add("POST", "/v2/app/blobs/uploads/?mount=" + digest('b') + "&from=base", 202)
      .response_headers.push_back({"Location", "/v2/app/blobs/uploads/u2?_state=s1"});
  t.add("PATCH", "/v2/app/blobs/uploads/u2?_state=s1", 202).request_body = text_body("layer b");
  t.add("PUT", "/v2/app/blobs/uploads/u2?_state=s2&digest=" + digest('b'), 201);
  upload(t, "app", digest('c'), "u3");
  t.add("PUT", "/v2/app/manifests/v1", 201).request_body =
      text_body(image_manifest(digest('c'), {digest('a'), digest('b')}));
  CHECK(at_or_above(t.diagnose(), severity::warning) == strings{});
}

TEST_CASE("healthy: a skopeo push to a registry without auth", "[rules][api][healthy]") {
  trace_builder t;
  t.user_agent = skopeo_ua;
  t.add("GET", "/v2/", 200, "{}");
  upload(t, "small", digest('a'), "u1");
  upload(t, "small", digest('c'), "u2");
  t.add("HEAD", "/v2/small/manifests/v1", 404);
  t.add("PUT", "/v2/small/manifests/v1", 201).request_body =
      text_body(image_manifest(digest('c'), {digest('a')}));
  CHECK(at_or_above(t.diagnose(), severity::warning) == strings{});
}

TEST_CASE("healthy: a containerd pull with the referrers fallback", "[rules][api][healthy]") {
  trace_builder t;
  t.user_agent = containerd_ua;
  t.add("HEAD", "/v2/app/manifests/v1", 401, registry_error("UNAUTHORIZED", "authentication required"))
      .response_headers.push_back(
          {"WWW-Authenticate",
           R"(Bearer realm="https://auth.test/token",service="registry.test",scope="repository:app:pull")"});
  t.add_to("auth.test", 443, "GET", "/token?scope=repository%3Aapp%3Apull&service=registry.test", 200,
           R"({"token":"<redacted sha256:3f9a12bc>"})");
  t.add("HEAD", "/v2/app/manifests/v1", 200, "x", index_type);
  auto const amd64 = image_manifest(digest('c'), {digest('a')});
  auto const index = image_index({{digest_of(amd64), "linux/amd64"}});
  t.add("GET", "/v2/app/manifests/" + digest_of(index), 200, index, index_type);
  t.add("GET", "/v2/app/manifests/" + digest_of(amd64), 200, amd64, manifest_type);
  t.add("GET", "/v2/app/referrers/" + digest_of(amd64), 404, registry_error("NAME_UNKNOWN", "not found"));
  t.add("GET", "/v2/app/manifests/sha256-" + digest_of(amd64).substr(7), 404,
        registry_error("MANIFEST_UNKNOWN", "manifest unknown"));
  t.add("GET", "/v2/app/blobs/" + digest('c'), 200);
  t.add("GET", "/v2/app/blobs/" + digest('a'), 200);
  auto const all = t.diagnose();
  CHECK(at_or_above(all, severity::warning) == strings{});
  CHECK(with_id(all, "E-08").size() == 1);
}

TEST_CASE("healthy: curl looks around (catalog, tags, an index) without pulling", "[rules][api][healthy]") {
  trace_builder t;
  t.user_agent = curl_ua;
  t.add("GET", "/v2/_catalog", 200, R"({"repositories":["app"]})");
  t.add("GET", "/v2/app/tags/list", 200, R"({"name":"app","tags":["v1"]})");
  t.add("GET", "/v2/app/manifests/v1", 200, image_index({{digest('1'), "linux/arm64"}}), index_type);
  t.add("HEAD", "/v2/app/blobs/" + digest('c'), 200);
  CHECK(at_or_above(t.diagnose(), severity::warning) == strings{});
}
