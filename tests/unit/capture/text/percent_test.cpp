#include "capture/text/percent.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture {
namespace {

TEST_CASE("percent_decode decodes escapes and leaves malformed ones", "[text]") {
  CHECK(percent_decode("sha256%3Aab%2f") == "sha256:ab/");
  CHECK(percent_decode("a+b") == "a+b");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("100%") == "100%");
  CHECK(percent_decode("%zz%4") == "%zz%4");
}

TEST_CASE("percent_decode_strict refuses a '%' without two hex digits", "[text]") {
  CHECK(percent_decode_strict("p%40ss%3Aword") == std::optional<std::string>("p@ss:word"));
  CHECK(percent_decode_strict("a+b") == std::optional<std::string>("a+b"));
  CHECK_FALSE(percent_decode_strict("100%"));
  CHECK_FALSE(percent_decode_strict("%4"));
  CHECK_FALSE(percent_decode_strict("%zz"));
}

TEST_CASE("percent_encode keeps the unreserved characters only, and round-trips", "[text]") {
  CHECK(percent_encode("repository:library/alpine:pull") == "repository%3Alibrary%2Falpine%3Apull");
  CHECK(percent_encode("a-b_c.d~e") == "a-b_c.d~e");
  CHECK(percent_encode(std::string("\x00\xff", 2)) == "%00%FF");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  CHECK(percent_decode(percent_encode(all)) == all);
}

TEST_CASE("hex_digit_value knows both cases", "[text]") {
  CHECK(hex_digit_value('0') == 0);
  CHECK(hex_digit_value('a') == 10);
  CHECK(hex_digit_value('F') == 15);
  CHECK(hex_digit_value('g') == -1);
}

}  // namespace
}  // namespace regtrace::capture
