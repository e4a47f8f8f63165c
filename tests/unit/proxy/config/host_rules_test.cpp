// --resolve, --intercept/--passthrough and --proxy-auth, as pure functions of the configuration.

#include "proxy/config/host_rules.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace regtrace::proxy;

namespace {

resolve_rule make_rule(std::string host, std::uint16_t port, std::string address) {
  resolve_rule rule;
  rule.host = std::move(host);
  rule.port = port;
  rule.address = std::move(address);
  return rule;
}

}  // namespace

TEST_CASE("parse_resolve_rule reads curl's HOST:PORT:ADDR", "[proxy][host_rules]") {
  auto const v4 = parse_resolve_rule("registry.test:5443:127.0.0.1");
  REQUIRE(v4.has_value());
  CHECK(v4->host == "registry.test");
  CHECK(v4->port == 5443);
  CHECK(v4->address == "127.0.0.1");

  auto const v6 = parse_resolve_rule("h:1:[::1]");
  REQUIRE(v6.has_value());
  CHECK(v6->host == "h");
  CHECK(v6->port == 1);
  CHECK(v6->address == "::1");

  auto const v6_bare = parse_resolve_rule("registry.test:443:2001:db8::7");
  REQUIRE(v6_bare.has_value());
  CHECK(v6_bare->host == "registry.test");
  CHECK(v6_bare->port == 443);
  CHECK(v6_bare->address == "2001:db8::7");
}

TEST_CASE("parse_resolve_rule refuses malformed rules", "[proxy][host_rules]") {
  auto const text = GENERATE(
      as<std::string>{}, "",
      "registry.test",  // missing parts
      "registry.test:5443", "registry.test:5443:", ":5443:127.0.0.1", "registry.test::127.0.0.1",
      "registry.test:5443:localhost",  // not an IP address
      "registry.test:5443:registry.other", "registry.test:5443:[notip]", "registry.test:5443:[::1",
      "registry.test:5443:1.2.3",
      "registry.test:0:127.0.0.1",  // bad ports
      "registry.test:65536:127.0.0.1", "registry.test:https:127.0.0.1", "registry.test:54x:127.0.0.1",
      "a b:5443:127.0.0.1");  // bad host
  CAPTURE(text);
  CHECK_FALSE(parse_resolve_rule(text).has_value());
}

TEST_CASE("pinned_address matches the host case-insensitively and the port exactly", "[proxy][host_rules]") {
  proxy_config config;
  config.resolve_rules.push_back(make_rule("Registry.Test", 5443, "127.0.0.1"));
  config.resolve_rules.push_back(make_rule("registry.test", 443, "::1"));

  auto const exact = pinned_address(config, "Registry.Test", 5443);
  REQUIRE(exact.has_value());
  CHECK(*exact == "127.0.0.1");

  auto const folded = pinned_address(config, "REGISTRY.test", 5443);
  REQUIRE(folded.has_value());
  CHECK(*folded == "127.0.0.1");

  auto const other_port = pinned_address(config, "registry.test", 443);
  REQUIRE(other_port.has_value());
  CHECK(*other_port == "::1");

  CHECK_FALSE(pinned_address(config, "registry.test", 5000).has_value());
  CHECK_FALSE(pinned_address(config, "registry.tes", 5443).has_value());
  CHECK_FALSE(pinned_address(config, "registry.test.", 5443).has_value());
  CHECK_FALSE(pinned_address(config, "other.test", 443).has_value());
  CHECK_FALSE(pinned_address(config, "", 443).has_value());
  CHECK_FALSE(pinned_address(proxy_config{}, "registry.test", 5443).has_value());
}

TEST_CASE("should_intercept intercepts everything when no lists are given", "[proxy][host_rules]") {
  proxy_config const config;
  CHECK(should_intercept(config, "registry.test"));
  CHECK(should_intercept(config, "registry-1.docker.io"));
  CHECK(should_intercept(config, "127.0.0.1"));
}

TEST_CASE("should_intercept: the intercept list restricts, passthrough wins", "[proxy][host_rules]") {
  proxy_config config;
  config.intercept_globs = {"*.docker.io", "registry.test"};
  CHECK(should_intercept(config, "registry-1.docker.io"));
  CHECK(should_intercept(config, "Registry-1.Docker.IO"));
  CHECK(should_intercept(config, "REGISTRY.TEST"));
  CHECK_FALSE(should_intercept(config, "docker.io"));  // "*." needs a label before the dot
  CHECK_FALSE(should_intercept(config, "ghcr.io"));
  CHECK_FALSE(should_intercept(config, "registry.test.evil"));

  config.passthrough_globs = {"auth.docker.io"};
  CHECK_FALSE(should_intercept(config, "auth.docker.io"));
  CHECK_FALSE(should_intercept(config, "AUTH.docker.io"));
  CHECK(should_intercept(config, "registry-1.docker.io"));

  proxy_config passthrough_only;
  passthrough_only.passthrough_globs = {"*.amazonaws.com"};
  CHECK_FALSE(
      should_intercept(passthrough_only, "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"));
  CHECK(should_intercept(passthrough_only, "registry.test"));
}

TEST_CASE("host_matches is a case-insensitive shell glob", "[proxy][host_rules]") {
  CHECK(host_matches("*.docker.io", "registry-1.docker.io"));
  CHECK(host_matches("*.docker.io", "a.b.docker.io"));
  CHECK(host_matches("*.Docker.IO", "registry-1.docker.io"));
  CHECK(host_matches("*.docker.io", "REGISTRY-1.DOCKER.IO"));
  CHECK(host_matches("registry.test", "registry.test"));
  CHECK(host_matches("*", "anything.example"));
  CHECK(host_matches("registry-?.docker.io", "registry-1.docker.io"));
  CHECK(host_matches("registry-[0-9].docker.io", "registry-7.docker.io"));

  CHECK_FALSE(host_matches("*.docker.io", "docker.io"));
  CHECK_FALSE(host_matches("*.docker.io", "registry-1.docker.io.evil"));
  CHECK_FALSE(host_matches("*.docker.io", "notdocker.io"));
  CHECK_FALSE(host_matches("registry.test", "registry.tes"));
  CHECK_FALSE(host_matches("registry-?.docker.io", "registry-12.docker.io"));
}

TEST_CASE("proxy_auth_matches is true when no --proxy-auth is configured", "[proxy][host_rules]") {
  proxy_config const config;
  CHECK(proxy_auth_matches(config, ""));
  CHECK(proxy_auth_matches(config, "Basic dXNlcjpwYXNz"));
  CHECK(proxy_auth_matches(config, "garbage"));
}

TEST_CASE("proxy_auth_matches checks Basic credentials", "[proxy][host_rules]") {
  proxy_config config;
  config.proxy_auth = "user:pass";  // base64: dXNlcjpwYXNz

  CHECK(proxy_auth_matches(config, "Basic dXNlcjpwYXNz"));
  CHECK(proxy_auth_matches(config, "basic dXNlcjpwYXNz"));
  CHECK(proxy_auth_matches(config, "BASIC dXNlcjpwYXNz"));

  CHECK_FALSE(proxy_auth_matches(config, "Basic dXNlcjpwYXNy"));      // user:pasr
  CHECK_FALSE(proxy_auth_matches(config, "Basic dXNlcjpwYXNzeA=="));  // user:passx
  CHECK_FALSE(proxy_auth_matches(config, "Basic dXNlcjpwYXN"));       // truncated
  CHECK_FALSE(proxy_auth_matches(config, "Basic dXNlcjpwYXNzdXNlcjpwYXNz"));
  CHECK_FALSE(proxy_auth_matches(config, "Basic dXNlcjpwYXNz "));
  CHECK_FALSE(proxy_auth_matches(config, "Bearer dXNlcjpwYXNz"));
  CHECK_FALSE(proxy_auth_matches(config, "Digest dXNlcjpwYXNz"));
  CHECK_FALSE(proxy_auth_matches(config, "BasicdXNlcjpwYXNz"));
  CHECK_FALSE(proxy_auth_matches(config, "dXNlcjpwYXNz"));
  CHECK_FALSE(proxy_auth_matches(config, "Basic user:pass"));
  CHECK_FALSE(proxy_auth_matches(config, "Basic "));
  CHECK_FALSE(proxy_auth_matches(config, "Basic"));
  CHECK_FALSE(proxy_auth_matches(config, ""));
}

TEST_CASE("proxy_auth_matches handles credentials whose base64 needs padding", "[proxy][host_rules]") {
  proxy_config config;
  config.proxy_auth = "ab:c";  // base64: YWI6Yw==
  CHECK(proxy_auth_matches(config, "Basic YWI6Yw=="));
  CHECK_FALSE(proxy_auth_matches(config, "Basic YWI6Yw"));

  config.proxy_auth = "ab:cd";  // base64: YWI6Y2Q=
  CHECK(proxy_auth_matches(config, "Basic YWI6Y2Q="));
}

// Regression (found by these tests): RFC 9110 §11.4 writes credentials = auth-scheme [ 1*SP ( token68 / ... )
// ], so more than one space may separate "Basic" from the token; proxy_auth_matches compares everything after
// exactly "basic " and refuses "Basic  dXNlcjpwYXNz" (two spaces).
TEST_CASE("proxy_auth_matches allows several spaces after the scheme", "[proxy][host_rules]") {
  proxy_config config;
  config.proxy_auth = "user:pass";
  CHECK(proxy_auth_matches(config, "Basic  dXNlcjpwYXNz"));
}
