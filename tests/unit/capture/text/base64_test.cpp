#include "capture/text/base64.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture {
namespace {

TEST_CASE("base64 encodes the RFC 4648 test vectors", "[text]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64_encode("\xfb\xff") == "+/8=");
}

TEST_CASE("base64_decode reads both alphabets, with or without padding and white space", "[text]") {
  CHECK(base64_decode("YWxpY2U6czNjcmV0") == std::optional<std::string>("alice:s3cret"));
  CHECK(base64_decode("Zm8=") == std::optional<std::string>("fo"));
  CHECK(base64_decode("Zm8") == std::optional<std::string>("fo"));
  CHECK(base64_decode("-_8") == std::optional<std::string>("\xfb\xff"));
  CHECK(base64_decode("+/8=") == std::optional<std::string>("\xfb\xff"));
  CHECK(base64_decode("Zm9v\r\nYmFy") == std::optional<std::string>("foobar"));
  CHECK_FALSE(base64_decode("Zm9v!"));
  CHECK_FALSE(base64_decode("Zm9vY"));  // one digit past a group is no encoder's output
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  CHECK(base64_decode(base64_encode(all)) == all);
  CHECK(base64_decode(base64url_encode(all)) == all);
}

}  // namespace
}  // namespace regtrace::capture
