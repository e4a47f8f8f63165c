// `regtrace check`: what it understands as a registry, the requests it makes, and how it reads the
// answers (proxy/check.hpp). The probe against real registries is in the integration and e2e tests.

#include "capture/rules/finding.hpp"
#include "proxy/commands/check.hpp"
#include "tests/support/exchanges.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace regtrace;
using namespace regtrace::proxy;

namespace {

using capture::test::registry_exchange;

bool has_line_with(std::vector<std::string> const& lines, std::string const& part) {
  return std::ranges::any_of(lines, [&](std::string const& line) { return line.find(part) != std::string::npos; });
}

// {"alg":"ES256"} . {"sub":"alice","access":[{"type":"repository","name":"team/app","actions":["pull"]}]} . "sig"
constexpr char const* alice_pull_jwt =
    "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImFjY2VzcyI6W3sidHlwZSI6InJlcG9zaXRvcnkiLCJuYW1lIjoidGVhbS9hc"
    "HAiLCJhY3Rpb25zIjpbInB1bGwiXX1dfQ.c2ln";

}  // namespace

TEST_CASE("check targets are written as image names are", "[proxy][check]") {
  auto const bare = parse_check_target("registry.example.com");
  REQUIRE(bare);
  CHECK(bare->scheme == "https");
  CHECK(bare->host == "registry.example.com");
  CHECK(bare->port == 443);
  CHECK(bare->repository.empty());

  auto const image = parse_check_target("registry.test:5443/team/app:1.0");
  REQUIRE(image);
  CHECK(image->host == "registry.test");
  CHECK(image->port == 5443);
  CHECK(image->repository == "team/app");
  CHECK(image->reference == "1.0");

  auto const pinned = parse_check_target("https://registry.test/team/app@sha256:abc");
  REQUIRE(pinned);
  CHECK(pinned->repository == "team/app");
  CHECK(pinned->reference == "sha256:abc");

  auto const untagged = parse_check_target("registry.test/app/");
  REQUIRE(untagged);
  CHECK(untagged->repository == "app");
  CHECK(untagged->reference == "latest");

  auto const plain = parse_check_target("http://10.0.0.5:5000");
  REQUIRE(plain);
  CHECK(plain->scheme == "http");
  CHECK(plain->port == 5000);
}

TEST_CASE("check maps docker.io to Docker Hub's API host and library/ names", "[proxy][check]") {
  auto const hub = parse_check_target("docker.io/alpine");
  REQUIRE(hub);
  CHECK(hub->host == "registry-1.docker.io");
  CHECK(hub->repository == "library/alpine");
  CHECK(hub->reference == "latest");
  CHECK(parse_check_target("docker.io/team/app:2")->repository == "team/app");
}

TEST_CASE("check refuses what cannot be a registry", "[proxy][check]") {
  for (char const* bad : {"", "/app", "https://", "registry.test:99999", "registry.test:port",
                          "registry.test/app@", "registry.test/app:", "user:pass@registry.test"})
    CHECK_FALSE(parse_check_target(bad));
}

TEST_CASE("check asks for /v2/ and for the manifest with the Accept list of a current Docker",
          "[proxy][check]") {
  auto const target = *parse_check_target("registry.test:5443/team/app:1.0");
  auto const version = api_version_request(target);
  CHECK(version.method == "GET");
  CHECK(version.url() == "https://registry.test:5443/v2/");
  auto const manifest = manifest_request(target);
  CHECK(manifest.method == "HEAD");
  CHECK(manifest.target == "/v2/team/app/manifests/1.0");
  auto const* accept = capture::find_header(manifest.request_headers, "Accept");
  REQUIRE(accept);
  CHECK(accept->find("application/vnd.oci.image.index.v1+json") != std::string::npos);
  CHECK(accept->find("application/vnd.docker.distribution.manifest.v2+json") != std::string::npos);
}

TEST_CASE("check describes the connection, the challenge and what the token grants", "[proxy][check]") {
  auto challenge = registry_exchange("GET", "/v2/", 401);
  challenge.server_ip = "127.0.0.1";
  challenge.timings.dns = 1.5;
  challenge.timings.connect = 3;
  challenge.timings.ssl = 2;
  capture::tls_leg tls;
  tls.version = "TLSv1.3";
  tls.cipher = "TLS_AES_128_GCM_SHA256";
  tls.verified = true;
  tls.peer_chain = {"CN=registry.test; issuer: CN=Test CA"};
  challenge.upstream_tls = tls;
  challenge.response_headers = {
      {"WWW-Authenticate", R"(Bearer realm="https://auth.test/token",service="registry.test")"}};
  auto token = registry_exchange("GET", "/token?service=registry.test", 200, "auth.test");
  token.response_body.text = std::string(R"({"token":")") + alice_pull_jwt + R"(","expires_in":300})";
  token.response_body.text_kept = true;
  auto retried = registry_exchange("GET", "/v2/", 200);

  auto const lines = describe_probe({challenge, token, retried});
  CHECK(has_line_with(lines, "DNS      registry.test -> 127.0.0.1 (1.5 ms)"));
  CHECK(has_line_with(lines, "TCP      connected to port 5443 (1.0 ms)"));
  CHECK(has_line_with(lines, "TLSv1.3 TLS_AES_128_GCM_SHA256, certificate verified (2.0 ms)"));
  CHECK(has_line_with(lines, "CN=registry.test; issuer: CN=Test CA"));
  CHECK(has_line_with(lines, "GET https://registry.test:5443/v2/ -> 401"));
  CHECK(has_line_with(lines, R"(challenge: Bearer realm="https://auth.test/token")"));
  CHECK(has_line_with(lines, "token issued, expires in 300 s; grants repository:team/app:pull; subject alice"));
  CHECK_FALSE(has_line_with(lines, alice_pull_jwt));  // the token itself is never shown
}

TEST_CASE("check names the phase where the connection failed", "[proxy][check]") {
  auto unresolved = registry_exchange("GET", "/v2/", 0, "nowhere.test");
  unresolved.failure.emplace();
  unresolved.failure->where = capture::phase::resolve;
  unresolved.failure->message = "Host not found";
  unresolved.failure->detail = "resolving nowhere.test";
  auto const dns = describe_probe({unresolved});
  REQUIRE(dns.size() == 1);
  CHECK(dns[0] == "DNS      nowhere.test: resolving nowhere.test: Host not found");

  auto old_tls = registry_exchange("GET", "/v2/", 0);
  old_tls.server_ip = "127.0.0.1";
  old_tls.failure.emplace();
  old_tls.failure->where = capture::phase::upstream_tls;
  old_tls.failure->message = "tls version too low";
  old_tls.failure->detail = "TLS handshake with registry.test";
  old_tls.upstream_tls.emplace();
  old_tls.upstream_tls->version = "TLSv1";
  auto const tls = describe_probe({old_tls});
  CHECK(has_line_with(tls, "TLS      TLS handshake with registry.test: tls version too low"));
  CHECK_FALSE(has_line_with(tls, "HTTP"));
}

TEST_CASE("check passes when the last answers are 2xx and no finding is an error", "[proxy][check]") {
  auto const challenge = registry_exchange("GET", "/v2/", 401);
  auto const token = registry_exchange("GET", "/token?service=registry.test", 200, "auth.test");
  auto const ok = registry_exchange("GET", "/v2/", 200);
  auto const manifest = registry_exchange("HEAD", "/v2/team/app/manifests/1.0", 200);
  auto const missing = registry_exchange("HEAD", "/v2/team/app/manifests/1.0", 404);
  CHECK(check_passed({challenge, token, ok}, {}));
  CHECK(check_passed({challenge, token, ok, manifest}, {}));
  CHECK_FALSE(check_passed({challenge}, {}));
  CHECK_FALSE(check_passed({challenge, token, ok, missing}, {}));
  CHECK_FALSE(check_passed({}, {}));

  capture::rules::finding warning;
  warning.id = "E-09";
  warning.level = capture::rules::severity::warning;
  CHECK(check_passed({ok}, {warning}));
  auto error = warning;
  error.level = capture::rules::severity::error;
  CHECK_FALSE(check_passed({ok}, {error}));
}
