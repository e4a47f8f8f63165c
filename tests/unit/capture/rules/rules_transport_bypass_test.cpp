// Catalog A-09 on hand-written traces: the hosts of a flow that never reached regtrace (a Location no
// request followed, a realm never asked, storage without its registry), and the flows where they did.
#include "capture/rules/rules.hpp"
#include "tests/support/registry_traces.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture::test {
namespace {

using Catch::Contains;
using rules::severity;
using ids = std::vector<std::size_t>;

std::string const signed_query = "?sv=2020-10-02&se=2026-11-27T22%3A10%3A00Z&sr=b&sp=r&sig=abc";

// A dockerd pull whose layer GET is redirected to location.
trace_builder redirected_pull(std::string const& location) {
  trace_builder t;
  t.add("GET", "/v2/app/manifests/v1", 200, image_manifest(digest('c'), {digest('a'), digest('b')}),
        manifest_type);
  t.add("GET", "/v2/app/blobs/" + digest('a'), 307).response_headers.push_back({"Location", location});
  return t;
}

}  // namespace

TEST_CASE("A-09: a Location on a host no request ever reached regtrace for", "[rules][transport][A-09]") {
  auto t = redirected_pull("https://storage.test/blobs/a" + signed_query);
  t.add("GET", "/v2/app/blobs/" + digest('b'), 200);  // the client went on with the next layer
  // Live, the storage request may still come: nothing yet.
  CHECK(with_id(t.diagnose(false), "A-09").empty());
  auto found = with_id(t.diagnose(), "A-09");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::warning);
  CHECK(evidence_entries(found[0]) == ids{1});
  CHECK_THAT(found[0].explanation, Contains("storage.test") &&
                                       Contains("no request to storage.test ever reached regtrace") &&
                                       Contains("NO_PROXY"));
  CHECK(with_id(t.diagnose(), "D-04").empty());
}

TEST_CASE("A-09: Go never proxies a Location on a loopback literal", "[rules][transport][A-09]") {
  auto t = redirected_pull("https://127.0.0.1:5000/blobs/a" + signed_query);
  t.add("GET", "/v2/app/blobs/" + digest('a'), 307)
      .response_headers.push_back({"Location", "https://127.0.0.1:5000/blobs/a" + signed_query});
  auto found = with_id(t.diagnose(), "A-09");
  REQUIRE(found.size() == 1);  // one per host; asking again does not make it D-04's
  CHECK(evidence_entries(found[0]) == ids{1, 2});
  CHECK_THAT(found[0].explanation, Contains("127.0.0.1 is a loopback literal"));
}

TEST_CASE("A-09 not raised: the Location was followed, or the client asked the registry again (D-04)",
          "[rules][transport][A-09]") {
  SECTION("followed through regtrace") {
    auto t = redirected_pull("https://storage.test/blobs/a" + signed_query);
    t.add_to("storage.test", 443, "GET", "/blobs/a" + signed_query, 200).response_headers.clear();
    CHECK(with_id(t.diagnose(), "A-09").empty());
  }
  SECTION("asked again: the target may be blocked, D-04 says so") {
    auto t = redirected_pull("https://storage.test/blobs/a" + signed_query);
    t.add("GET", "/v2/app/blobs/" + digest('a'), 307)
        .response_headers.push_back({"Location", "https://storage.test/blobs/a" + signed_query});
    auto const all = t.diagnose();
    CHECK(with_id(all, "A-09").empty());
    CHECK(with_id(all, "D-04").size() == 1);
  }
}

TEST_CASE("A-09: a bearer token from a realm no request reached regtrace for", "[rules][transport][A-09]") {
  trace_builder t;
  t.add("GET", "/v2/", 401, registry_error("UNAUTHORIZED", "authentication required"))
      .response_headers.push_back(
          {"WWW-Authenticate", R"(Bearer realm="https://auth.corp.example/token",service="registry.test")"});
  t.add("GET", "/v2/app/manifests/v1", 200, image_manifest(digest('c'), {digest('a')}), manifest_type)
      .request_headers.push_back({"Authorization", "Bearer <redacted sha256:3f9a12bc>"});
  auto found = with_id(t.diagnose(false), "A-09");  // the bearer request proves it at once
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == ids{0, 1});
  CHECK_THAT(found[0].explanation, Contains("auth.corp.example") && Contains("bearer token"));

  trace_builder healthy;
  healthy.token_flow("app");
  healthy.add("GET", "/v2/app/manifests/v1", 200, image_manifest(digest('c'), {digest('a')}), manifest_type)
      .request_headers.push_back({"Authorization", "Bearer <redacted sha256:3f9a12bc>"});
  CHECK(with_id(healthy.diagnose(), "A-09").empty());
}

TEST_CASE("A-09: storage fetched through regtrace, the registry never", "[rules][transport][A-09]") {
  trace_builder t;
  t.add_to("storage.test", 443, "GET", "/blobs/a" + signed_query, 200).response_headers.clear();
  t.add_to("storage.test", 443, "GET", "/blobs/b" + signed_query, 200).response_headers.clear();
  CHECK(with_id(t.diagnose(false), "A-09").empty());
  auto found = with_id(t.diagnose(), "A-09");
  REQUIRE(found.size() == 1);  // one per storage host
  CHECK(evidence_entries(found[0]) == ids{0});
  CHECK_THAT(found[0].explanation, Contains("none of its registry requests"));

  t.add("GET", "/v2/app/manifests/v1", 200, image_manifest(digest('c'), {digest('a')}), manifest_type);
  CHECK(with_id(t.diagnose(), "A-09").empty());
}

}  // namespace regtrace::capture::test
