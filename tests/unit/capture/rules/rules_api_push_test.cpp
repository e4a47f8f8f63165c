// Catalog group C rules for writes and registry state (C-08..C-15), on hand-written traces.
#include "tests/support/registry_traces.hpp"

#include <catch2/catch.hpp>

using namespace regtrace::capture::test;
using Catch::Matchers::Contains;
using regtrace::capture::rules::severity;

TEST_CASE("C-08: MANIFEST_BLOB_UNKNOWN names the blobs the trace never shows", "[rules][api]") {
  trace_builder t;
  t.add("HEAD", "/v2/app/blobs/" + digest('1'), 404);
  t.add("POST", "/v2/app/blobs/uploads/", 202)
      .response_headers.push_back({"Location", "/v2/app/blobs/uploads/u1"});
  t.add("PUT", "/v2/app/blobs/uploads/u1?digest=" + digest('1'), 201);
  t.add("POST", "/v2/app/blobs/uploads/?mount=" + digest('c') + "&from=base", 202)
      .response_headers.push_back({"Location", "/v2/app/blobs/uploads/u2"});
  auto& put = t.add("PUT", "/v2/app/manifests/v1", 400,
                    registry_error("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"));
  put.request_body = text_body(image_manifest(digest('c'), {digest('1')}));
  auto const all = t.diagnose();
  auto const found = with_id(all, "C-08");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{4});
  CHECK_THAT(found[0].explanation, Contains(digest('c') + " (a mount attempt got 202"));
  CHECK_THAT(found[0].explanation, !Contains(digest('1')));
  CHECK(found[0].client_error == "manifest blob unknown: blob unknown to registry");
  CHECK(at_or_above(all, severity::error).size() == 1);  // the HEAD 404 and the 202 mount are normal
}

TEST_CASE("C-08: 413 with a registry body; an HTML 413 is A-13's", "[rules][api]") {
  trace_builder t;
  t.add("PUT", "/v2/app/manifests/big", 413, registry_error("MANIFEST_INVALID", "manifest too large"));
  t.add("PUT", "/v2/app/manifests/big2", 413, "<html><title>413 Request Entity Too Large</title></html>",
        "text/html");
  auto const found = with_id(t.diagnose(), "C-08");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Contains("larger than this registry accepts"));
}

TEST_CASE("C-09: PATCH on a session another replica cannot validate", "[rules][api]") {
  trace_builder t;
  auto& post = t.add("POST", "/v2/app/blobs/uploads/", 202);
  post.response_headers.push_back({"Location", "/v2/app/blobs/uploads/u1?_state=abc"});
  post.server_ip = "10.0.0.1";
  auto& patch = t.add("PATCH", "/v2/app/blobs/uploads/u1?_state=abc", 404,
                      registry_error("BLOB_UPLOAD_INVALID", "blob upload invalid"));
  patch.server_ip = "10.0.0.2";
  auto found = with_id(t.diagnose(), "C-09");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{1, 0});
  CHECK_THAT(found[0].explanation,
             Contains("u1") && Contains("10.0.0.1, 10.0.0.2") && Contains("http.secret"));

  SECTION("the push completed after all: WARNING") {
    t.add("PUT", "/v2/app/manifests/v1", 201);
    found = with_id(t.diagnose(), "C-09");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::warning);
  }
}

TEST_CASE("C-09: 416 shows the offsets", "[rules][api]") {
  trace_builder t;
  auto& patch = t.add("PATCH", "/v2/app/blobs/uploads/u7", 416,
                      registry_error("RANGE_INVALID", "invalid content range"));
  patch.request_headers.push_back({"Content-Range", "1000-1999"});
  patch.response_headers.push_back({"Range", "0-499"});
  auto const found = with_id(t.diagnose(), "C-09");
  REQUIRE(found.size() == 1);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Contains("1000-1999") && Contains("0-499"));
}

TEST_CASE("C-10: closing PUT with DIGEST_INVALID compares the forwarded bytes", "[rules][api]") {
  std::string const body = "layer bytes";
  SECTION("the bytes do not hash to the declared digest") {
    trace_builder t;
    auto& put = t.add("PUT", "/v2/app/blobs/uploads/u1?digest=" + digest('a'), 400,
                      registry_error("DIGEST_INVALID", "provided digest did not match uploaded content"));
    put.request_body = text_body(body);
    auto const found = with_id(t.diagnose(), "C-10");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::error);
    CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
    CHECK_THAT(found[0].explanation, Contains("hash to sha256:" + regtrace::capture::sha256_hex(body)) &&
                                         Contains("not to the declared " + digest('a')));
  }
  SECTION("the bytes hash to it") {
    trace_builder t;
    auto const good = "sha256:" + regtrace::capture::sha256_hex(body);
    auto& put = t.add("PUT", "/v2/app/blobs/uploads/u1?digest=" + good, 400,
                      registry_error("SIZE_INVALID", "provided length did not match content length"));
    put.request_body = text_body(body);
    put.request_headers.push_back({"Content-Length", "99"});
    auto const found = with_id(t.diagnose(), "C-10");
    REQUIRE(found.size() == 1);
    CHECK_THAT(found[0].explanation, Contains("left the proxy intact") && Contains("Content-Length said 99"));
  }
}

TEST_CASE("C-11: quota messages per vendor are CRITICAL and not C-02/C-12", "[rules][api]") {
  trace_builder t;
  t.add("PUT", "/v2/proj/app/manifests/v1", 403,
        registry_error("DENIED",
                       "adding 10.2 MiB of storage resource, which when updated to current usage of 9.9 GiB "
                       "will exceed the configured upper limit of 10.0 GiB."));
  t.add_to("quay.test", 443, "POST", "/v2/org/app/blobs/uploads/", 403,
           registry_error("DENIED", "Quota has been exceeded on namespace org"));
  t.add_to("registry.digitalocean.test", 443, "PUT", "/v2/team/two/manifests/v1", 403,
           registry_error("DENIED", "registry contains 1 repositories, limit is 1"));
  t.add_to(
      "me.azurecr.io", 443, "PUT", "/v2/app/manifests/v1", 405,
      registry_error("REGISTRY_DISALLOWED_OPERATION", "The operation is disallowed: storage limit reached"));
  auto const all = t.diagnose();
  auto const found = with_id(all, "C-11");
  REQUIRE(found.size() == 4);
  for (auto const& f : found) CHECK(f.level == severity::critical);
  auto explanation_for = [&](std::size_t entry) {
    for (auto const& f : found)
      if (evidence_entries(f) == std::vector<std::size_t>{entry}) return f.explanation;
    return std::string();
  };
  CHECK_THAT(explanation_for(0), Contains("Harbor"));
  CHECK_THAT(explanation_for(1), Contains("Quay"));
  CHECK_THAT(explanation_for(2), Contains("DigitalOcean"));
  CHECK_THAT(explanation_for(3), Contains("Azure Container Registry"));
  CHECK(with_id(all, "C-12").empty());
  CHECK(with_id(all, "C-02").empty());
}

TEST_CASE("C-12: writes refused by lock, disabled deletes, read-only mode", "[rules][api]") {
  trace_builder t;
  t.add_to("me.azurecr.io", 443, "PUT", "/v2/app/manifests/v1", 405,
           registry_error("REGISTRY_DISALLOWED_OPERATION",
                          "The operation is disallowed on this registry, repository or image."));
  t.add("DELETE", "/v2/app/manifests/" + digest('1'), 405,
        registry_error("UNSUPPORTED", "The operation is unsupported."));
  t.add_to("ro.test", 443, "PATCH", "/v2/app/blobs/uploads/u1", 405)
      .response_headers.push_back({"Allow", "GET, HEAD"});
  t.add_to(
      "quay.test", 443, "PUT", "/v2/org/app/manifests/v1", 405,
      R"({"errors":[{"code":"DENIED","message":"System is currently read-only."}],"is_readonly": true})");
  t.user_agent = containerd_ua;
  t.add("HEAD", "/v2/app/manifests/v1", 405);  // containerd retries this as GET: not a write
  auto const found = with_id(t.diagnose(), "C-12");
  REQUIRE(found.size() == 4);
  std::vector<std::size_t> entries;
  for (auto const& f : found) {
    CHECK(f.level == severity::error);
    entries.push_back(evidence_entries(f).front());
    if (entries.back() == 0) CHECK_THAT(f.explanation, Contains("lock"));
    if (entries.back() == 1) CHECK_THAT(f.explanation, Contains("deletes disabled"));
    if (entries.back() == 2) CHECK_THAT(f.explanation, Contains("Allow: GET, HEAD"));
    if (entries.back() == 3) CHECK_THAT(f.explanation, Contains("read-only"));
  }
  std::ranges::sort(entries);
  CHECK(entries == std::vector<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("C-13: 429 with Retry-After and Docker Hub headers", "[rules][api]") {
  trace_builder t;
  auto& limited = t.add_to("registry-1.docker.io", 443, "GET", "/v2/library/alpine/manifests/3.19", 429,
                           registry_error("TOOMANYREQUESTS", "You have reached your pull rate limit."));
  limited.response_headers.push_back({"Retry-After", "30"});
  limited.response_headers.push_back({"ratelimit-limit", "100;w=21600"});
  limited.response_headers.push_back({"ratelimit-remaining", "0;w=21600"});
  limited.response_headers.push_back({"docker-ratelimit-source", "203.0.113.7"});
  auto found = with_id(t.diagnose(), "C-13");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Contains("Retry-After: 30") &&
                                       Contains("ratelimit-remaining: 0;w=21600") &&
                                       Contains("docker-ratelimit-source: 203.0.113.7"));
  CHECK(found[0].client_error == "toomanyrequests: You have reached your pull rate limit.");

  SECTION("a later try succeeds: WARNING") {
    t.add_to("registry-1.docker.io", 443, "GET", "/v2/library/alpine/manifests/3.19", 200, "{}",
             manifest_type);
    found = with_id(t.diagnose(), "C-13");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::warning);
  }
}

TEST_CASE("C-13: warn when Docker Hub's remaining pulls are low", "[rules][api]") {
  trace_builder t;
  auto& plenty = t.add_to("registry-1.docker.io", 443, "GET", "/v2/library/alpine/manifests/3.19", 200, "{}",
                          manifest_type);
  plenty.response_headers.push_back({"ratelimit-limit", "100;w=21600"});
  plenty.response_headers.push_back({"ratelimit-remaining", "50;w=21600"});
  CHECK(with_id(t.diagnose(), "C-13").empty());
  auto& low = t.add_to("registry-1.docker.io", 443, "GET", "/v2/library/busybox/manifests/1", 200, "{}",
                       manifest_type);
  low.response_headers.push_back({"ratelimit-limit", "100;w=21600"});
  low.response_headers.push_back({"ratelimit-remaining", "7;w=21600"});
  auto const found = with_id(t.diagnose(), "C-13");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::warning);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{1});
}

TEST_CASE("C-14: server errors from the registry, not from regtrace", "[rules][api]") {
  trace_builder t;
  t.add("GET", "/v2/app/blobs/" + digest('1'), 503, registry_error("UNAVAILABLE", "service unavailable"));
  auto& own = t.add("GET", "/v2/app/blobs/" + digest('2'), 502);
  own.generated_response = true;
  auto found = with_id(t.diagnose(), "C-14");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Contains("503 UNAVAILABLE"));

  SECTION("a retry succeeds: WARNING") {
    t.add("GET", "/v2/app/blobs/" + digest('1'), 200);
    found = with_id(t.diagnose(), "C-14");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::warning);
  }
}

TEST_CASE("C-15: Harbor policy 412, on HEAD (status only) and GET", "[rules][api]") {
  trace_builder t;
  t.user_agent = containerd_ua;
  t.add("HEAD", "/v2/proj/app/manifests/v1", 412);
  t.user_agent = docker_ua;
  t.add("GET", "/v2/proj/app/manifests/v2", 412,
        registry_error("PROJECTPOLICYVIOLATION",
                       "current image with 3 vulnerabilities cannot be pulled due to configured policy"));
  auto const found = with_id(t.diagnose(), "C-15");
  REQUIRE(found.size() == 2);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == std::vector<std::size_t>{0});
  CHECK_THAT(found[0].explanation, Contains("only the status"));
  CHECK_THAT(found[0].client_error, Contains("412"));
  CHECK(evidence_entries(found[1]) == std::vector<std::size_t>{1});
  CHECK_THAT(found[1].client_error, Contains("projectpolicyviolation: current image with 3 vulnerabilities"));
}
