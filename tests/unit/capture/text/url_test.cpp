#include "capture/text/url.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture {
namespace {

TEST_CASE("split_query keeps views and flags keys without '='", "[text]") {
  auto const params = split_query("a=1&&flag&b=&c=x=y");
  REQUIRE(params.size() == 4);
  CHECK(params[0].key == "a");
  CHECK(params[0].value == "1");
  CHECK(params[1].key == "flag");
  CHECK_FALSE(params[1].has_value);
  CHECK(params[2].has_value);
  CHECK(params[2].value.empty());
  CHECK(params[3].value == "x=y");
  CHECK(split_query("").empty());
}

TEST_CASE("split_url takes the scheme lower-cased, drops userinfo and fragment, roots the target", "[text]") {
  auto const url = split_url("HTTPS://alice:pw@Registry.Test:5443/v2/?n=1#frag");
  REQUIRE(url);
  CHECK(url->scheme == "https");
  CHECK(url->has_userinfo);
  CHECK(url->authority == "Registry.Test:5443");
  CHECK(url->target == "/v2/?n=1");
  CHECK(split_url("http://host?q=1")->target == "/?q=1");
  CHECK(split_url("http://host")->target == "/");
  CHECK_FALSE(split_url("/v2/?next=https://evil.test/"));  // a relative URL whose query holds "://"
  CHECK_FALSE(split_url("://host/"));
  CHECK_FALSE(split_url("registry.test/v2/"));
}

TEST_CASE("split_host_port reads names, IPv6 literals and missing or empty ports", "[text]") {
  auto named = split_host_port("registry.test:5443");
  REQUIRE(named);
  CHECK(named->host == "registry.test");
  CHECK(named->port == std::optional<std::string_view>("5443"));
  CHECK_FALSE(named->bracketed);
  auto v6 = split_host_port("[::1]:8443");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == std::optional<std::string_view>("8443"));
  CHECK(v6->bracketed);
  CHECK_FALSE(split_host_port("[::1]")->port);
  CHECK_FALSE(split_host_port("host")->port);
  CHECK(split_host_port("host:")->port == std::optional<std::string_view>(""));
  CHECK_FALSE(split_host_port("[::1"));
  CHECK_FALSE(split_host_port("[::1]x"));
}

TEST_CASE("parse_port_number takes 0 to 65535 in digits only", "[text]") {
  CHECK(parse_port_number("0") == std::optional<std::uint16_t>(0));
  CHECK(parse_port_number("65535") == std::optional<std::uint16_t>(65535));
  CHECK_FALSE(parse_port_number("65536"));
  CHECK_FALSE(parse_port_number(""));
  CHECK_FALSE(parse_port_number("+80"));
  CHECK_FALSE(parse_port_number("80a"));
}

TEST_CASE("parse_url defaults the port from the scheme and refuses URLs without a host", "[text]") {
  auto const https = parse_url("https://registry.test/v2/app/manifests/1.0");
  REQUIRE(https);
  CHECK(https->host == "registry.test");
  CHECK(https->port == 443);
  CHECK(https->target == "/v2/app/manifests/1.0");
  CHECK(parse_url("http://registry.test")->port == 80);
  CHECK(parse_url("http://[::1]:5000/v2/")->host == "::1");
  CHECK(parse_url("http://[::1]:5000/v2/")->port == 5000);
  CHECK_FALSE(parse_url("https:///v2/"));
  CHECK_FALSE(parse_url("https://host:99999/"));
  CHECK_FALSE(parse_url("not a url"));
}

}  // namespace
}  // namespace regtrace::capture
