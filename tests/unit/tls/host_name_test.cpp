#include "tls/host_name.hpp"

#include <catch2/catch.hpp>

using regtrace::tls::parse_host;

TEST_CASE("host names are lower-cased and stripped of brackets and a trailing dot", "[tls][host]") {
  auto dns = parse_host("Registry.Example.COM.");
  REQUIRE(dns.has_value());
  CHECK(dns->text == "registry.example.com");
  CHECK_FALSE(dns->ip);

  auto v6 = parse_host("[FE80::1]");
  REQUIRE(v6.has_value());
  CHECK(v6->text == "fe80::1");
  REQUIRE(v6->ip);
  CHECK(ASN1_STRING_length(v6->ip.get()) == 16);

  auto v4 = parse_host("192.168.0.10");
  REQUIRE(v4.has_value());
  REQUIRE(v4->ip);
  CHECK(ASN1_STRING_length(v4->ip.get()) == 4);

  auto dotted = parse_host("192.168.0.10.nip.io");
  REQUIRE(dotted.has_value());
  CHECK_FALSE(dotted->ip);
  CHECK(parse_host("internal_registry.corp").has_value());
}

TEST_CASE("strings that no host name is are refused with a sentence", "[tls][host]") {
  for (char const* host :
       {"", ".", "[]", "a,b", "a/b", "a b", "a\nb", "1:2:3", "[::1", "host:443", ".a.test"}) {
    INFO("host: '" << host << "'");
    auto parsed = parse_host(host);
    REQUIRE_FALSE(parsed.has_value());
    CHECK_THAT(parsed.error().message, Catch::StartsWith("cannot make a certificate for host"));
  }
  CHECK_FALSE(parse_host(std::string(254, 'a')).has_value());
}
