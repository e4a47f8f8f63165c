#pragma once
// A registry name, its TLS upstream and regtrace in front of it: the set-up every relay test shares.

#include "tests/support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

namespace regtrace::test {

struct world {
  explicit world(std::function<void(proxy::proxy_config&)> adjust = {}, bool upstream_tls = true)
      : pki(make_test_pki(dir.path(), "registry.test")),
        upstream(upstream_tls ? std::optional<test_pki>(pki) : std::nullopt),
        proxy([&](proxy::proxy_config& config) {
          config.upstream_ca_files = {pki.ca_file};
          config.resolve_rules = {{"registry.test", upstream.port(), "127.0.0.1"}};
          if (adjust) adjust(config);
        }) {}

  std::string authority() const { return "registry.test:" + std::to_string(upstream.port()); }

  /// A client with an intercepted TLS tunnel to the registry, trusting regtrace's CA.
  std::unique_ptr<proxy_client> tunnel() {
    auto client = std::make_unique<proxy_client>(proxy.port());
    REQUIRE(client->send_connect(authority()) == 200);
    REQUIRE(client->handshake("registry.test", proxy.ca_file()) == "");
    return client;
  }

  temp_dir dir;
  test_pki pki;
  fake_upstream upstream;
  proxy_fixture proxy;
};

/// The first entry whose target is `target` (and method, when given).
inline capture::exchange const& entry_for(std::vector<capture::exchange> const& entries,
                                          std::string const& target, std::string const& method = "") {
  auto found = std::find_if(entries.begin(), entries.end(), [&](auto const& x) {
    return x.target == target && (method.empty() || x.method == method);
  });
  REQUIRE(found != entries.end());
  return *found;
}

}  // namespace regtrace::test
