// `regtrace check` (SPEC §1, §2) against the scripted cloud registry: real TLS on loopback, a Bearer
// token realm with real scopes, and the failures a check must name with the trace's finding IDs.
#include "proxy/commands/check.hpp"
#include "tests/support/cloud_registry.hpp"
#include "tests/support/loopback_listener.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace regtrace;
using namespace regtrace::test;

namespace {

struct check_world {
  explicit check_world(cloud_registry::tls_versions versions = cloud_registry::tls_versions::modern)
      : pki(make_test_pki(dir.path(), cloud_registry::registry_host,
                          {cloud_registry::auth_host, cloud_registry::storage_host})),
        upstream(pki, versions) {}

  /// Options for checking registry.test:PORT + image (e.g. "/app:v1"), every name pinned to the upstream.
  proxy::check_options options(std::string const& image = {}, std::string credentials = {}) const {
    proxy::check_options o;
    o.registry = upstream.authority(cloud_registry::registry_host) + image;
    o.client.credentials = std::move(credentials);
    o.client.upstream_ca_files = {pki.ca_file};
    for (auto const& host : cloud_registry::host_names())
      o.client.resolve_rules.push_back({host, upstream.port(), "127.0.0.1"});
    return o;
  }

  temp_dir dir;
  test_pki pki;
  cloud_registry upstream;
};

std::string summary(proxy::check_result const& r) {
  std::string out;
  for (auto const& line : r.probe) out += line + "\n";
  for (auto const& f : r.findings) out += "finding " + f.id + " " + std::string(to_string(f.level)) + "\n";
  return out;
}

bool has_finding(proxy::check_result const& r, std::string const& id, capture::rules::severity level) {
  return std::ranges::any_of(r.findings, [&](auto const& f) { return f.id == id && f.level == level; });
}

bool probe_says(proxy::check_result const& r, std::string const& part) {
  return std::ranges::any_of(r.probe, [&](auto const& line) { return line.find(part) != std::string::npos; });
}

void private_registry(check_world& w) {
  w.upstream.use_bearer_auth();
  w.upstream.add_user("alice", "s3cret", {"repository:app:pull"});
  w.upstream.add_manifest("app", "v1", "application/vnd.oci.image.manifest.v1+json",
                          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})");
}

}  // namespace

TEST_CASE("check: a private registry with a token realm passes with the right credentials", "[check]") {
  check_world w;
  private_registry(w);
  auto const r = proxy::probe_registry(w.options("/app:v1", "alice:s3cret"));
  INFO(summary(r));
  CHECK(r.passed);
  CHECK(std::ranges::none_of(r.findings, [](auto const& f) { return f.level >= capture::rules::severity::error; }));
  CHECK(probe_says(r, "TLSv1.3"));
  CHECK(probe_says(r, "certificate verified"));
  CHECK(probe_says(r, "challenge: Bearer realm="));
  CHECK(probe_says(r, "grants repository:app:pull"));
  CHECK(probe_says(r, "digest: sha256:"));
  // The flow a client makes: challenge, token, retry; for /v2/ and for the manifest.
  std::vector<int> statuses;
  for (auto const& x : r.exchanges) statuses.push_back(x.status);
  CHECK(statuses == std::vector<int>{401, 200, 200, 401, 200, 200});
  // Redacted: the Basic credentials and the tokens are not in what a report or HAR would show.
  for (auto const& x : r.exchanges)
    if (auto const* authorization = capture::find_header(x.request_headers, "Authorization"))
      CHECK(authorization->find("YWxpY2U6czNjcmV0") == std::string::npos);
}

TEST_CASE("check: wrong credentials are B-05 and fail the check", "[check]") {
  check_world w;
  private_registry(w);
  auto const r = proxy::probe_registry(w.options("/app:v1", "alice:wrong"));
  INFO(summary(r));
  CHECK_FALSE(r.passed);
  CHECK(has_finding(r, "B-05", capture::rules::severity::critical));
}

TEST_CASE("check: a tag that does not exist is C-01", "[check]") {
  check_world w;
  private_registry(w);
  auto const r = proxy::probe_registry(w.options("/app:v2", "alice:s3cret"));
  INFO(summary(r));
  CHECK_FALSE(r.passed);
  CHECK(has_finding(r, "C-01", capture::rules::severity::error));
  CHECK(r.exchanges.back().status == 404);
}

TEST_CASE("check: a registry that only speaks TLS 1.0/1.1 is A-05", "[check]") {
  check_world w(cloud_registry::tls_versions::legacy_only);
  auto const r = proxy::probe_registry(w.options());
  INFO(summary(r));
  CHECK_FALSE(r.passed);
  CHECK(has_finding(r, "A-05", capture::rules::severity::error));
  CHECK(probe_says(r, "TLS      "));
  CHECK_FALSE(probe_says(r, "HTTP     "));  // nothing was asked over a connection that never opened
}

TEST_CASE("check: a certificate from an unknown CA is A-04 and names the fix", "[check]") {
  check_world w;
  auto options = w.options();
  options.client.upstream_ca_files.clear();
  auto const r = proxy::probe_registry(options);
  INFO(summary(r));
  CHECK_FALSE(r.passed);
  CHECK(has_finding(r, "A-04", capture::rules::severity::error));
  CHECK(probe_says(r, "certificate not trusted"));
  // The address is known although the handshake failed: the trace says which node refused.
  REQUIRE(r.exchanges.size() == 1);
  CHECK(r.exchanges[0].server_ip == "127.0.0.1");
  CHECK(probe_says(r, "DNS      registry.test -> 127.0.0.1"));
}

TEST_CASE("check: nothing listening is A-08; a name that is no registry is a sentence", "[check]") {
  check_world w;
  auto options = w.options();
  auto const port = closed_port();
  options.registry = std::string(cloud_registry::registry_host) + ":" + std::to_string(port);
  options.client.resolve_rules = {{cloud_registry::registry_host, port, "127.0.0.1"}};
  auto const r = proxy::probe_registry(options);
  INFO(summary(r));
  CHECK_FALSE(r.passed);
  CHECK(has_finding(r, "A-08", capture::rules::severity::error));
  CHECK(probe_says(r, "TCP      connecting to registry.test:"));
  REQUIRE(r.exchanges.size() == 1);  // no manifest request after a failed connection

  options.registry = "registry.test/app@";
  CHECK_THROWS_WITH(proxy::probe_registry(options), Catch::Contains("is not a registry"));
}
