// UTF-8 well-formedness (RFC 3629 §4): what nlohmann would refuse is found, and replaced one byte at a time.

#include "capture/text/utf8.hpp"

#include <catch2/catch.hpp>

using namespace regtrace::capture;

TEST_CASE("well-formed UTF-8 is accepted as it is", "[capture][text][utf8]") {
  for (std::string_view ok : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x90\xB3",
                              "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"}) {
    CHECK(first_invalid_utf8(ok) == std::string_view::npos);
    CHECK(replace_invalid_utf8(ok) == ok);
  }
}

TEST_CASE("ill-formed UTF-8 is found and replaced", "[capture][text][utf8]") {
  CHECK(first_invalid_utf8("ab\xFF") == 2);
  CHECK(first_invalid_utf8("\xC0\xAF") == 0);          // overlong
  CHECK(first_invalid_utf8("x\xE0\x80\xAF") == 1);     // overlong
  CHECK(first_invalid_utf8("\xED\xA0\x80") == 0);      // a UTF-16 surrogate
  CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == 0);  // past U+10FFFF
  CHECK(first_invalid_utf8("ok\xE2\x82") == 2);        // cut short
  CHECK(first_invalid_utf8("\xC3\xA9\x80") == 2);      // a stray continuation byte
  CHECK(replace_invalid_utf8("a\xFF"
                             "b\xE2\x82") ==
        "a\xEF\xBF\xBD"
        "b\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(first_invalid_utf8(replace_invalid_utf8("\xC0\xAF\xED\xA0\x80")) == std::string_view::npos);
}
