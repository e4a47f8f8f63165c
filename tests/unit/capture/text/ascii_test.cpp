#include "capture/text/ascii.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture {
namespace {

TEST_CASE("ASCII case-folding leaves every other byte alone", "[text]") {
  CHECK(to_lower("Registry.TEST") == "registry.test");
  CHECK(to_lower("\xc3\x89") == "\xc3\x89");  // not ASCII: never touched, whatever the locale
  CHECK(iequals("WWW-Authenticate", "www-authenticate"));
  CHECK_FALSE(iequals("Basic", "Basic "));
  CHECK(istarts_with("Bearer abc", "bearer "));
  CHECK_FALSE(istarts_with("Bear", "bearer"));
}

TEST_CASE("ifind and icontains search without case", "[text]") {
  CHECK(ifind("<Error><Code>AccessDenied</Code>", "<code>") == 7);
  CHECK(ifind("abc", "") == 0);
  CHECK(ifind("abc", "d") == std::string_view::npos);
  CHECK(ifind("abcabc", "ABC", 1) == 3);
  CHECK(ifind("abc", "a", 4) == std::string_view::npos);
  CHECK(icontains("Signature Did Not Match", "signature did not match"));
}

TEST_CASE("trim_ows trims spaces and tabs, trim_whitespace every ASCII space", "[text]") {
  CHECK(trim_ows(" \tapplication/json\t ") == "application/json");
  CHECK(trim_ows("\r\nx\r\n") == "\r\nx\r\n");
  CHECK(trim_whitespace("\r\n x \f\v") == "x");
  CHECK(trim_whitespace("   ").empty());
}

}  // namespace
}  // namespace regtrace::capture
