// The small helpers every rule group shares (rules_detail.hpp), on their own.
#include "capture/rules/rules_detail.hpp"

#include <catch2/catch.hpp>

#include <vector>

namespace regtrace::capture::rules::detail {
namespace {

entry_facts facts_of(exchange const& x) {
  return analyse(std::span<exchange const>(&x, 1), 0).front();
}

}  // namespace

TEST_CASE("read_leading_integer: the number after a prefix and the text after it", "[rules][detail]") {
  auto const limit = read_leading_integer("100;w=21600");
  REQUIRE(limit);
  CHECK(limit->value == 100);
  CHECK(limit->rest == ";w=21600");

  auto const range = read_leading_integer("bytes=2048-4095", "bytes=");
  REQUIRE(range);
  CHECK(range->value == 2048);
  CHECK(range->rest == "-4095");

  auto const whole = read_leading_integer("bytes 0-99/100", "bytes ");
  REQUIRE(whole);
  CHECK(whole->value == 0);
  CHECK(whole->rest == "-99/100");

  CHECK(read_leading_integer("42")->rest.empty());
  CHECK_FALSE(read_leading_integer("bytes=2048-", "bytes "));          // another prefix
  CHECK(read_leading_integer("bytes=-500", "bytes=")->value == -500);  // a sign is part of the number
  CHECK_FALSE(read_leading_integer("w=21600"));
  CHECK_FALSE(read_leading_integer(""));
  CHECK_FALSE(read_leading_integer("99999999999999999999"));  // out of range
}

TEST_CASE("response_headers_text: the named headers the answer carries, in the order asked",
          "[rules][detail]") {
  exchange x;
  x.status = 403;
  x.response_headers = {{"via", "1.1 squid"}, {"Server", "nginx"}, {"Content-Type", "text/html"}};
  auto const e = facts_of(x);
  CHECK(response_headers_text(e, {"Server", "Via"}) == "Server: nginx, Via: 1.1 squid");
  CHECK(response_headers_text(e, {"Retry-After", "Via"}) == "Via: 1.1 squid");
  CHECK(response_headers_text(e, {"Retry-After"}).empty());
}

}  // namespace regtrace::capture::rules::detail
