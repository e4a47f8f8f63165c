// CONNECT authorities (RFC 9110 §9.3.6) and absolute-form targets (RFC 9112 §3.2.2).

#include "proxy/config/connect_target.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace regtrace::proxy;
using namespace std::string_view_literals;

TEST_CASE("parse_connect_authority accepts names, IPv4 and bracketed IPv6", "[proxy][connect_request]") {
  auto const name = parse_connect_authority("registry.test:5443");
  REQUIRE(name.has_value());
  CHECK(name->host == "registry.test");
  CHECK(name->port == 5443);

  auto const v6 = parse_connect_authority("[::1]:443");
  REQUIRE(v6.has_value());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 443);

  auto const v4 = parse_connect_authority("1.2.3.4:80");
  REQUIRE(v4.has_value());
  CHECK(v4->host == "1.2.3.4");
  CHECK(v4->port == 80);
}

TEST_CASE("parse_connect_authority keeps the host's spelling and the whole port range",
          "[proxy][connect_request]") {
  auto const mixed = parse_connect_authority("Registry-1.Docker.IO:443");
  REQUIRE(mixed.has_value());
  CHECK(mixed->host == "Registry-1.Docker.IO");

  auto const low = parse_connect_authority("h:1");
  REQUIRE(low.has_value());
  CHECK(low->port == 1);

  auto const high = parse_connect_authority("h:65535");
  REQUIRE(high.has_value());
  CHECK(high->port == 65535);

  auto const full_v6 = parse_connect_authority("[2001:db8::42]:5000");
  REQUIRE(full_v6.has_value());
  CHECK(full_v6->host == "2001:db8::42");
  CHECK(full_v6->port == 5000);
}

TEST_CASE("parse_connect_authority refuses malformed authorities", "[proxy][connect_request]") {
  auto const text = GENERATE(as<std::string>{},
                             "registry.test",        // no port: CONNECT has no default
                             "registry.test:0",      // port 0
                             "registry.test:65536",  // out of range
                             "registry.test:99999", "registry.test:-1", "registry.test:+443",
                             "host:",  // empty port
                             ":443",   // empty host
                             "",
                             "a b:1",        // space in host
                             "user@host:1",  // userinfo
                             "host/x:1",
                             "[::1]",  // bracketed, no port
                             "[::1]:",
                             "[notip]:1",           // brackets around a name
                             "[1.2.3.4]:1",         // brackets are for IPv6 only
                             "[::1:443",            // unclosed bracket
                             "::1:443",             // IPv6 without brackets
                             "registry.test:443x",  // trailing garbage
                             "registry.test:443 ", "registry.test:443/", "[::1]:443x", "[::1]x:443");
  CAPTURE(text);
  CHECK_FALSE(parse_connect_authority(text).has_value());
}

TEST_CASE("parse_absolute_target splits http and https URLs with default ports", "[proxy][connect_request]") {
  auto const http = parse_absolute_target("http://registry.test/v2/");
  REQUIRE(http.has_value());
  CHECK(http->scheme == "http");
  CHECK(http->destination.host == "registry.test");
  CHECK(http->destination.port == 80);
  CHECK(http->origin_form == "/v2/");

  auto const https = parse_absolute_target("https://registry.test/v2/app/manifests/latest");
  REQUIRE(https.has_value());
  CHECK(https->scheme == "https");
  CHECK(https->destination.port == 443);
  CHECK(https->origin_form == "/v2/app/manifests/latest");

  auto const explicit_port = parse_absolute_target("http://registry.test:5000/v2/");
  REQUIRE(explicit_port.has_value());
  CHECK(explicit_port->destination.host == "registry.test");
  CHECK(explicit_port->destination.port == 5000);
  CHECK(explicit_port->origin_form == "/v2/");
}

TEST_CASE("parse_absolute_target takes bracketed IPv6 hosts", "[proxy][connect_request]") {
  auto const with_port = parse_absolute_target("http://[::1]:8080/x");
  REQUIRE(with_port.has_value());
  CHECK(with_port->destination.host == "::1");
  CHECK(with_port->destination.port == 8080);
  CHECK(with_port->origin_form == "/x");

  auto const without_port = parse_absolute_target("https://[2001:db8::1]/v2/");
  REQUIRE(without_port.has_value());
  CHECK(without_port->destination.host == "2001:db8::1");
  CHECK(without_port->destination.port == 443);
}

TEST_CASE("parse_absolute_target keeps the query byte-for-byte and drops the fragment",
          "[proxy][connect_request]") {
  // Registries sign and compare query strings (token scopes, S3 redirects): no re-encoding.
  auto const query = parse_absolute_target(
      "http://auth.test/token?scope=repository%3Aapp%2Fweb%3Apull&service=a+b&empty=&flag");
  REQUIRE(query.has_value());
  CHECK(query->origin_form == "/token?scope=repository%3Aapp%2Fweb%3Apull&service=a+b&empty=&flag");

  auto const encoded_path = parse_absolute_target("http://h/v2/a%2Fb/tags/list?n=10");
  REQUIRE(encoded_path.has_value());
  CHECK(encoded_path->origin_form == "/v2/a%2Fb/tags/list?n=10");

  auto const fragment = parse_absolute_target("http://h/p?q=1#frag");
  REQUIRE(fragment.has_value());
  CHECK(fragment->origin_form == "/p?q=1");

  auto const path_fragment = parse_absolute_target("http://h/p#frag?not=query");
  REQUIRE(path_fragment.has_value());
  CHECK(path_fragment->origin_form == "/p");

  auto const at_in_path = parse_absolute_target("http://h/a@b");
  REQUIRE(at_in_path.has_value());
  CHECK(at_in_path->destination.host == "h");
  CHECK(at_in_path->origin_form == "/a@b");
}

TEST_CASE("parse_absolute_target gives \"/\" when the URL has no path", "[proxy][connect_request]") {
  auto const bare = parse_absolute_target("http://host");
  REQUIRE(bare.has_value());
  CHECK(bare->destination.host == "host");
  CHECK(bare->destination.port == 80);
  CHECK(bare->origin_form == "/");

  auto const query_only = parse_absolute_target("http://host?x=1");
  REQUIRE(query_only.has_value());
  CHECK(query_only->destination.host == "host");
  CHECK(query_only->origin_form == "/?x=1");

  auto const fragment_only = parse_absolute_target("http://host#top");
  REQUIRE(fragment_only.has_value());
  CHECK(fragment_only->origin_form == "/");

  auto const port_only = parse_absolute_target("http://host:8080");
  REQUIRE(port_only.has_value());
  CHECK(port_only->destination.port == 8080);
  CHECK(port_only->origin_form == "/");
}

TEST_CASE("parse_absolute_target compares the scheme case-insensitively", "[proxy][connect_request]") {
  auto const upper = parse_absolute_target("HTTP://Registry.Test/v2/");
  REQUIRE(upper.has_value());
  CHECK(upper->scheme == "http");
  CHECK(upper->destination.host == "Registry.Test");
  CHECK(upper->destination.port == 80);

  auto const mixed = parse_absolute_target("HtTpS://registry.test/v2/");
  REQUIRE(mixed.has_value());
  CHECK(mixed->scheme == "https");
  CHECK(mixed->destination.port == 443);
}

TEST_CASE("parse_absolute_target refuses userinfo, other schemes, other forms and bad authorities",
          "[proxy][connect_request]") {
  auto const text =
      GENERATE(as<std::string>{},
               "http://user@registry.test/v2/",  // userinfo
               "http://user:pass@registry.test/v2/", "https://user:pass@[::1]:443/",
               "ftp://registry.test/file",  // other schemes
               "ws://registry.test/", "httpx://registry.test/", "file:///etc/passwd",
               "/v2/",  // origin-form
               "/redirect?to=http://registry.test/",
               "*",                  // asterisk-form
               "registry.test:443",  // authority-form
               "http:/registry.test/", "http://", "http:///v2/", "http://:80/", "http://registry.test:/v2/",
               "http://registry.test:0/", "http://registry.test:65536/", "http://registry.test:80x/",
               "http://a b/", "http://[::1/x", "http://[notip]/x", "http://::1/x");
  CAPTURE(text);
  CHECK_FALSE(parse_absolute_target(text).has_value());
}

TEST_CASE("format_authority brackets IPv6 hosts only", "[proxy][connect_request]") {
  authority name;
  name.host = "registry.test";
  name.port = 5443;
  CHECK(format_authority(name) == "registry.test:5443");

  authority v4;
  v4.host = "1.2.3.4";
  v4.port = 80;
  CHECK(format_authority(v4) == "1.2.3.4:80");

  authority v6;
  v6.host = "::1";
  v6.port = 443;
  CHECK(format_authority(v6) == "[::1]:443");

  for (auto const& a : {name, v4, v6}) {
    CAPTURE(a.host);
    auto const parsed = parse_connect_authority(format_authority(a));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == a);
  }
}

TEST_CASE("is_ip_literal knows IPv4 and IPv6 literals without brackets", "[proxy][connect_request]") {
  CHECK(is_ip_literal("127.0.0.1"));
  CHECK(is_ip_literal("1.2.3.4"));
  CHECK(is_ip_literal("::1"));
  CHECK(is_ip_literal("2001:db8::1"));
  CHECK(is_ip_literal("::ffff:192.0.2.1"));

  CHECK_FALSE(is_ip_literal(""));
  CHECK_FALSE(is_ip_literal("[::1]"));
  CHECK_FALSE(is_ip_literal("localhost"));
  CHECK_FALSE(is_ip_literal("registry.test"));
  CHECK_FALSE(is_ip_literal("1.2.3"));
  CHECK_FALSE(is_ip_literal("256.1.1.1"));
  CHECK_FALSE(is_ip_literal("1.2.3.4:80"));
  CHECK_FALSE(is_ip_literal(" 1.2.3.4"));
}

// Regression (found by these tests): is_ip_literal copies the view into a std::string and hands c_str() to
// inet_pton, so anything after an embedded NUL is ignored: "1.2.3.4\0junk" counts as a literal, and
// parse_connect_authority then accepts "[::1\0junk]:443" with the NUL and "junk" kept in authority::host.
TEST_CASE("is_ip_literal refuses text after an embedded NUL", "[proxy][connect_request]") {
  CHECK_FALSE(is_ip_literal("1.2.3.4\0junk"sv));
  CHECK_FALSE(is_ip_literal("::1\0junk"sv));
  CHECK_FALSE(parse_connect_authority("[::1\0junk]:443"sv).has_value());
}
