#include "capture/registry/classifier.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

namespace reg = regtrace::capture::registry;
using reg::request_kind;

namespace {

struct url_case {
  std::string method;
  std::string host;
  std::string target;
  reg::classification expected;
};

// A classification built in full (aggregate initialisers that skip members warn under -Wextra).
reg::classification expect(request_kind kind, std::string repository = {}, std::string reference = {},
                           std::string digest = {}, std::string upload_id = {}) {
  reg::classification c;
  c.kind = kind;
  c.repository = std::move(repository);
  c.reference = std::move(reference);
  c.digest = std::move(digest);
  c.upload_id = std::move(upload_id);
  return c;
}

constexpr char const* digest = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

// Real shapes: Docker Hub, distribution, ACR, ECR, GCS/GAR, CloudFront, Quay, Harbor, Artifactory.
std::vector<url_case> const url_table = {
    {"GET", "registry-1.docker.io", "/v2/", expect(request_kind::ping)},
    {"GET", "registry.local:5000", "/v2", expect(request_kind::ping)},
    {"GET", "registry-1.docker.io", "/v2/library/alpine/manifests/latest",
     expect(request_kind::manifest, "library/alpine", "latest")},
    {"HEAD", "registry-1.docker.io", std::string("/v2/library/alpine/manifests/") + digest,
     expect(request_kind::manifest, "library/alpine", digest, digest)},
    {"GET", "ghcr.io", std::string("/v2/org/team/app/blobs/") + digest,
     expect(request_kind::blob, "org/team/app", "", digest)},
    {"POST", "registry.local", "/v2/myorg/app/blobs/uploads/", expect(request_kind::upload, "myorg/app")},
    {"POST", "registry.local", "/v2/myorg/app/blobs/uploads", expect(request_kind::upload, "myorg/app")},
    {"PATCH", "registry.local", "/v2/myorg/app/blobs/uploads/0d5f4b0e-1c2d?_state=eyJuYW1lIjoi",
     expect(request_kind::upload, "myorg/app", "", "", "0d5f4b0e-1c2d")},
    {"PUT", "registry.local", "/v2/myorg/app/blobs/uploads/0d5f4b0e-1c2d?_state=abc&digest=sha256%3A6c3c624b",
     expect(request_kind::upload, "myorg/app", "", "sha256:6c3c624b", "0d5f4b0e-1c2d")},
    {"POST", "registry.local", "/v2/a/b/blobs/uploads/?mount=sha256:6c3c624b&from=other/repo",
     expect(request_kind::upload, "a/b", "", "sha256:6c3c624b")},
    {"GET", "registry.local", "/v2/library/alpine/tags/list?n=100&last=3.18",
     expect(request_kind::tags, "library/alpine")},
    {"GET", "registry.local", std::string("/v2/library/alpine/referrers/") + digest + "?artifactType=x",
     expect(request_kind::referrers, "library/alpine", "", digest)},
    {"GET", "registry.local", "/v2/_catalog?n=10", expect(request_kind::catalog)},
    {"GET", "auth.docker.io",
     "/token?account=bob&scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io",
     expect(request_kind::token, "library/alpine")},
    {"GET", "auth.docker.io", "/token?scope=repository:library/alpine:pull,push&service=registry.docker.io",
     expect(request_kind::token, "library/alpine")},
    {"POST", "auth.docker.io", "/token", expect(request_kind::token)},
    {"POST", "myacr.azurecr.io", "/oauth2/token", expect(request_kind::token)},
    {"POST", "myacr.azurecr.io", "/oauth2/exchange", expect(request_kind::token)},
    {"GET", "harbor.example", "/service/token?service=harbor-registry&scope=repository:proj/img:pull,push",
     expect(request_kind::token, "proj/img")},
    {"GET", "gcr.io", "/v2/token?scope=repository:proj/img:pull&service=gcr.io",
     expect(request_kind::token, "proj/img")},
    {"GET", "quay.io", "/v2/auth?service=quay.io&scope=repository:org/img:pull",
     expect(request_kind::token, "org/img")},
    {"GET", "gitlab.example", "/jwt/auth?service=container_registry&scope=repository:grp/img:pull",
     expect(request_kind::token, "grp/img")},
    {"GET", "myacr.westeurope.data.azurecr.io",
     "/abc/blobs/sha256:6c3c?se=2024-01-01T00%3A10%3A00Z&sig=AbC%2Bd%3D&sp=r&spr=https&sr=b&sv=2018-03-28",
     expect(request_kind::storage)},
    {"GET", "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com",
     "/1234/abcd?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101%2Fus-east-1%2Fs3%2Faws4_"
     "request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=ab12",
     expect(request_kind::storage)},
    {"GET", "minio.example.com",
     "/bucket/docker/registry/v2/blobs/sha256/6c/6c3c/data?AWSAccessKeyId=AK&Expires=1&"
     "Signature=x%3D",
     expect(request_kind::storage)},
    {"GET", "objects.example.com", "/b/o?x-amz-algorithm=AWS4-HMAC-SHA256&x-amz-signature=ab",
     expect(request_kind::storage)},
    {"GET", "storage.googleapis.com",
     "/artifacts.proj.appspot.com/containers/images/sha256:6c3c?X-Goog-Algorithm=GOOG4-RSA-SHA256&"
     "X-Goog-Credential=sa%40proj.iam.gserviceaccount.com%2F20240101&X-Goog-Signature=0a1b",
     expect(request_kind::storage)},
    {"GET", "d111111abcdef8.cloudfront.net",
     "/x/data?Expires=1700000000&Signature=abc~&Key-Pair-Id=K2JCJMDEHXQW5F", expect(request_kind::storage)},
    {"GET", "production.cloudflare.docker.com",
     "/registry-v2/docker/registry/v2/blobs/sha256/6c/6c3c/data?verify=1700000000-AbCdEf",
     expect(request_kind::storage)},
    {"GET", "mystorage.blob.core.windows.net", "/container/blob", expect(request_kind::storage)},
    {"GET", "artifactory.example", "/artifactory/api/docker/docker-remote/v2/library/alpine/manifests/3.19",
     expect(request_kind::manifest, "library/alpine", "3.19")},
    {"GET", "artifactory.example", "/artifactory/api/docker/docker-remote/v2/token?service=artifactory",
     expect(request_kind::token)},
    {"GET", "registry.local", "/v2/foo/blobs/bar/manifests/latest",
     expect(request_kind::manifest, "foo/blobs/bar", "latest")},
    {"GET", "registry.local", "/v2/Library/Alpine/manifests/latest",
     expect(request_kind::manifest, "Library/Alpine", "latest")},
    {"GET", "", "http://registry.local:5000/v2/x/manifests/1", expect(request_kind::manifest, "x", "1")},
    {"GET", "example.com", "/index.html", expect(request_kind::other)},
    {"GET", "registry.local", "/v2/library/alpine", expect(request_kind::other)},
    {"GET", "registry.local", "/v2//manifests/latest", expect(request_kind::other)},
    {"POST", "registry.local", "/v2/blobs/uploads/", expect(request_kind::other)},
    {"GET", "registry.local", "/v2x/library/alpine/manifests/latest", expect(request_kind::other)},
};

}  // namespace

TEST_CASE("classify maps registry, token and storage URLs", "[classifier]") {
  for (auto const& c : url_table) {
    INFO(c.method << " " << c.host << " " << c.target);
    auto const got = reg::classify(c.method, c.host, c.target);
    CHECK(reg::to_string(got.kind) == reg::to_string(c.expected.kind));
    CHECK(got.repository == c.expected.repository);
    CHECK(got.reference == c.expected.reference);
    CHECK(got.digest == c.expected.digest);
    CHECK(got.upload_id == c.expected.upload_id);
  }
}

TEST_CASE("registry paths win over storage host hints", "[classifier]") {
  // A registry served from a storage-like host still has its API shapes (catalog §0 before §7.1).
  auto const c = reg::classify("GET", "mystorage.blob.core.windows.net", "/v2/app/manifests/1");
  CHECK(c.kind == request_kind::manifest);
  // Query evidence beats everything else off the /v2/ paths.
  CHECK(reg::classify("GET", "example.com", "/x?sig=a&sv=2020-01-01").kind == request_kind::storage);
}

TEST_CASE("is_presigned_storage_query needs the signature together with its companion", "[classifier]") {
  CHECK(reg::is_presigned_storage_query("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab"));
  CHECK(reg::is_presigned_storage_query("X-Amz-Credential=AK%2F2024&X-Amz-Signature=ab"));
  CHECK(reg::is_presigned_storage_query("x-amz-credential=AK&x-amz-signature=ab"));
  CHECK(reg::is_presigned_storage_query("AWSAccessKeyId=AK&Expires=1&Signature=s"));
  CHECK(reg::is_presigned_storage_query("sv=2018-03-28&sr=b&sig=s"));
  CHECK(reg::is_presigned_storage_query("se=2024-01-01&sig=s"));
  CHECK(reg::is_presigned_storage_query("X-Goog-Signature=ab"));
  CHECK(reg::is_presigned_storage_query("GoogleAccessId=sa&Expires=1&Signature=s"));
  CHECK(reg::is_presigned_storage_query("Expires=1&Signature=s&Key-Pair-Id=K"));
  CHECK_FALSE(reg::is_presigned_storage_query(""));
  CHECK_FALSE(reg::is_presigned_storage_query("sig=s"));
  CHECK_FALSE(reg::is_presigned_storage_query("Signature=s"));
  CHECK_FALSE(reg::is_presigned_storage_query("X-Amz-Signature=s"));
  CHECK_FALSE(reg::is_presigned_storage_query("scope=repository:a:pull&service=x"));
  CHECK_FALSE(reg::is_presigned_storage_query("SIG=s&SV=1"));
}

TEST_CASE("is_valid_repository_name follows the OCI grammar", "[classifier]") {
  for (auto const* name : {"library/alpine", "a", "0", "a__b", "a_b", "a.b", "a-b", "a---b", "a/b/c",
                           "foo.bar_baz-qux/x0", "my-org/my.app__v2"}) {
    INFO(name);
    CHECK(reg::is_valid_repository_name(name));
  }
  for (auto const* name : {"", "Library/alpine", "library/Alpine", "a___b", "-a", "a-", "a/", "/a", "a//b",
                           "a.", "a..b", "a._b", "_a", "a b", "a:b", "a@b", "a/b/"}) {
    INFO(name);
    CHECK_FALSE(reg::is_valid_repository_name(name));
  }
  CHECK(reg::is_valid_repository_name(std::string(255, 'a')));
  CHECK_FALSE(reg::is_valid_repository_name(std::string(256, 'a')));
}

TEST_CASE("request kinds have stable names", "[classifier]") {
  CHECK(reg::to_string(request_kind::referrers) == "referrers");
  CHECK(reg::to_string(request_kind::storage) == "storage");
  CHECK(reg::to_string(request_kind::other) == "other");
}
