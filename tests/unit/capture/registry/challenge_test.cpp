#include "capture/registry/challenge.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace reg = regtrace::capture::registry;

TEST_CASE("Docker Hub bearer challenge", "[challenge]") {
  auto const c = reg::parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].token68.empty());
  REQUIRE(c[0].params.size() == 3);
  CHECK(c[0].param("realm") == "https://auth.docker.io/token");
  CHECK(c[0].param("service") == "registry.docker.io");
  CHECK(c[0].param("scope") == "repository:library/alpine:pull");
  CHECK(c[0].param("error").empty());
}

TEST_CASE("distribution challenge with insufficient_scope and a multi-scope value", "[challenge]") {
  auto const c = reg::parse_www_authenticate(
      R"(Bearer realm="https://auth.example/token",service="registry.example",)"
      R"(scope="repository:a/b:pull,push repository:c/d:pull",error="insufficient_scope")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].param("error") == "insufficient_scope");
  CHECK(c[0].param("scope") == "repository:a/b:pull,push repository:c/d:pull");
}

TEST_CASE("ACR and Quay challenges, parameter names are case-insensitive", "[challenge]") {
  auto const acr = reg::parse_www_authenticate(
      R"(Bearer Realm="https://myreg.azurecr.io/oauth2/token", Service="myreg.azurecr.io", scope="registry:catalog:*")");
  REQUIRE(acr.size() == 1);
  CHECK(acr[0].params[0].first == "realm");
  CHECK(acr[0].param("REALM") == "https://myreg.azurecr.io/oauth2/token");
  CHECK(acr[0].param("service") == "myreg.azurecr.io");
  CHECK(acr[0].param("scope") == "registry:catalog:*");

  auto const quay =
      reg::parse_www_authenticate(R"(Bearer realm="https://quay.io/v2/auth",service="quay.io")");
  REQUIRE(quay.size() == 1);
  CHECK(quay[0].param("realm") == "https://quay.io/v2/auth");
}

TEST_CASE("several challenges in one value", "[challenge]") {
  auto const c = reg::parse_www_authenticate(
      R"(Basic realm="x", Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull")");
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "basic");
  REQUIRE(c[0].params.size() == 1);
  CHECK(c[0].param("realm") == "x");
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].params.size() == 3);
  CHECK(c[1].param("scope") == "repository:a/b:pull");

  auto const bare = reg::parse_www_authenticate("Negotiate, Basic realm=\"ECR\", NTLM");
  REQUIRE(bare.size() == 3);
  CHECK(bare[0].scheme == "negotiate");
  CHECK(bare[0].params.empty());
  CHECK(bare[1].param("realm") == "ECR");
  CHECK(bare[2].scheme == "ntlm");
}

TEST_CASE("token68 challenges", "[challenge]") {
  auto const c = reg::parse_www_authenticate("Negotiate YIIB+w/AbC==, Basic realm=\"r\"");
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "negotiate");
  CHECK(c[0].token68 == "YIIB+w/AbC==");
  CHECK(c[0].params.empty());
  CHECK(c[1].param("realm") == "r");
}

TEST_CASE("quoted strings: escapes, commas and spaces inside quotes", "[challenge]") {
  auto const c = reg::parse_www_authenticate(
      R"(Bearer realm="https://a/token", error="invalid_token", error_description="the \"token\", it expired" , x = y)");
  REQUIRE(c.size() == 1);
  CHECK(c[0].param("error_description") == R"(the "token", it expired)");
  CHECK(c[0].param("x") == "y");
  CHECK(c[0].params.size() == 4);
}

TEST_CASE("malformed challenges yield what could be parsed", "[challenge]") {
  CHECK(reg::parse_www_authenticate("").empty());
  CHECK(reg::parse_www_authenticate("  ,, ").empty());

  auto const unterminated = reg::parse_www_authenticate(R"(Bearer realm="https://auth.example/tok)");
  REQUIRE(unterminated.size() == 1);
  CHECK(unterminated[0].param("realm") == "https://auth.example/tok");

  auto const unquoted = reg::parse_www_authenticate("Bearer realm=https://auth.example/token,service=reg");
  REQUIRE(unquoted.size() == 1);
  CHECK(unquoted[0].param("realm") == "https://auth.example/token");
  CHECK(unquoted[0].param("service") == "reg");

  auto const missing_comma = reg::parse_www_authenticate(R"(Bearer realm="a" service="b")");
  REQUIRE(missing_comma.size() == 1);
  CHECK(missing_comma[0].param("service") == "b");

  // A parameter before any scheme has no challenge to belong to; a stray quoted string is skipped whole.
  auto const orphan = reg::parse_www_authenticate(R"(realm="x", "junk, more", Basic realm="y")");
  REQUIRE(orphan.size() == 1);
  CHECK(orphan[0].scheme == "basic");
  CHECK(orphan[0].param("realm") == "y");

  auto const trailing = reg::parse_www_authenticate("Bearer realm=");
  REQUIRE(trailing.size() == 1);
  CHECK(trailing[0].scheme == "bearer");
}

TEST_CASE("scopes: single, several, ports, registry catalog", "[challenge]") {
  auto const one = reg::parse_scopes("repository:library/alpine:pull");
  REQUIRE(one.size() == 1);
  CHECK(one[0].type == "repository");
  CHECK(one[0].name == "library/alpine");
  CHECK(one[0].actions == std::vector<std::string>{"pull"});

  auto const port = reg::parse_scopes("repository:localhost:5000/app:pull,push");
  REQUIRE(port.size() == 1);
  CHECK(port[0].name == "localhost:5000/app");
  CHECK(port[0].actions == std::vector<std::string>{"pull", "push"});

  auto const many =
      reg::parse_scopes("repository:a/b:pull,push  repository:reg.example:443/c/d:pull registry:catalog:*");
  REQUIRE(many.size() == 3);
  CHECK(many[0].name == "a/b");
  CHECK(many[1].name == "reg.example:443/c/d");
  CHECK(many[1].actions == std::vector<std::string>{"pull"});
  CHECK(many[2].type == "registry");
  CHECK(many[2].name == "catalog");
  CHECK(many[2].actions == std::vector<std::string>{"*"});

  auto const klass = reg::parse_scopes("repository(plugin):vieux/sshfs:pull");
  REQUIRE(klass.size() == 1);
  CHECK(klass[0].type == "repository");
  CHECK(klass[0].name == "vieux/sshfs");
}

TEST_CASE("malformed scopes yield what could be parsed", "[challenge]") {
  CHECK(reg::parse_scopes("").empty());
  CHECK(reg::parse_scopes("   ").empty());

  auto const no_actions = reg::parse_scopes("repository:a/b");
  REQUIRE(no_actions.size() == 1);
  CHECK(no_actions[0].name == "a/b");
  CHECK(no_actions[0].actions.empty());

  auto const port_no_actions = reg::parse_scopes("repository:localhost:5000/app");
  REQUIRE(port_no_actions.size() == 1);
  CHECK(port_no_actions[0].name == "localhost:5000/app");
  CHECK(port_no_actions[0].actions.empty());

  auto const bare = reg::parse_scopes("garbage repository:a:pull,,push,");
  REQUIRE(bare.size() == 2);
  CHECK(bare[0].type == "garbage");
  CHECK(bare[0].name.empty());
  CHECK(bare[1].actions == std::vector<std::string>{"pull", "push"});

  auto const empty_actions = reg::parse_scopes("repository:a/b:");
  REQUIRE(empty_actions.size() == 1);
  CHECK(empty_actions[0].name == "a/b");
  CHECK(empty_actions[0].actions.empty());
}
