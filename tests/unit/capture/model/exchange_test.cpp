// The exchange model's helpers: URL and authority, total time, header lookup, entry kind names.

#include "capture/model/exchange.hpp"

#include <catch2/catch.hpp>

using namespace regtrace::capture;

TEST_CASE("url omits the scheme's default port and brackets IPv6 hosts", "[capture][exchange]") {
  exchange x;
  x.host = "registry.example.com";
  x.target = "/v2/";
  CHECK(x.url() == "https://registry.example.com/v2/");
  x.port = 5000;
  CHECK(x.url() == "https://registry.example.com:5000/v2/");
  x.scheme = "http";
  x.port = 80;
  CHECK(x.url() == "http://registry.example.com/v2/");
  x.port = 443;
  CHECK(x.url() == "http://registry.example.com:443/v2/");
  x.scheme = "https";
  x.host = "::1";
  x.port = 8443;
  x.target = "/v2/a?b=c";
  CHECK(x.url() == "https://[::1]:8443/v2/a?b=c");
  x.port = 443;
  CHECK(x.url() == "https://[::1]/v2/a?b=c");
  x.target = "registry.example.com:443";  // a CONNECT authority is not a path
  CHECK(x.url() == "https://[::1]/");
}

TEST_CASE("total_ms sums the non-negative timings and leaves ssl out", "[capture][exchange]") {
  exchange x;
  x.timings =
      timings_ms{.blocked = -1, .dns = 2, .connect = 10, .ssl = 7, .send = 1, .wait = 20, .receive = 3};
  CHECK(x.total_ms() == Approx(36));
  x.timings = timings_ms{};
  CHECK(x.total_ms() == 0);
}

TEST_CASE("find_header is case-insensitive and returns the first match", "[capture][exchange]") {
  header_list const headers{{"Content-Type", "a"}, {"WWW-Authenticate", "Bearer x"}, {"content-type", "b"}};
  REQUIRE(find_header(headers, "content-TYPE") != nullptr);
  CHECK(*find_header(headers, "content-TYPE") == "a");
  CHECK(*find_header(headers, "www-authenticate") == "Bearer x");
  CHECK(find_header(headers, "Location") == nullptr);
  CHECK(find_header(headers, "Content-Typ") == nullptr);
}

TEST_CASE("entry kinds round-trip through their names", "[capture][exchange]") {
  for (auto k : {entry_kind::exchange, entry_kind::tunnel, entry_kind::connect_failed,
                 entry_kind::client_tls_rejected}) {
    CHECK(entry_kind_from_string(to_string(k)) == k);
  }
  CHECK(to_string(entry_kind::client_tls_rejected) == "client_tls_rejected");
  CHECK_FALSE(entry_kind_from_string("other").has_value());
}
