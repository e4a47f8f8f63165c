// What a replay may write back of a recorded message (issue 13, SPEC §8): hostile header names and
// values from a trace are left out with a note, never written.

#include "proxy/session/replay_fields.hpp"

#include <catch2/catch.hpp>

#include <string>

using regtrace::capture::exchange;
using regtrace::capture::header_list;
using regtrace::proxy::is_field_name;
using regtrace::proxy::is_field_value;
using regtrace::proxy::is_resendable_request;
using regtrace::proxy::max_replayed_field_bytes;
using regtrace::proxy::parse_content_length;
using regtrace::proxy::writable_fields_of;

namespace {

bool contains(std::string const& text, std::string const& part) {
  return text.find(part) != std::string::npos;
}

bool has_control(std::string const& text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

TEST_CASE("field names are RFC 9110 tokens", "[session][replay_fields]") {
  for (std::string name : {"Content-Type", "x-a", "Docker-Content-Digest", "!#$%&'*+-.^_`|~09azAZ"})
    CHECK(is_field_name(name));
  for (std::string name :
       {std::string{}, std::string("X Note"), std::string("X:Note"), std::string("X\r\nY"),
        std::string("X\nY"), std::string("X\0Y", 3), std::string("(x)"), std::string("X\"Y"),
        std::string("X@Y"), std::string("\xc3\xa9"), std::string("X\tY")}) {
    INFO(name);
    CHECK_FALSE(is_field_name(name));
  }
}

TEST_CASE("field values hold no CR, LF, NUL or other control", "[session][replay_fields]") {
  for (std::string value : {std::string{}, std::string("Bearer realm=\"x\", scope=\"a b\""),
                            std::string("a\tb"), std::string("caf\xc3\xa9"), std::string("\x80\xff")})
    CHECK(is_field_value(value));
  for (std::string value : {std::string("a\r\nX-Injected: 1"), std::string("a\rb"), std::string("a\nb"),
                            std::string("a\0b", 3), std::string("a\x1b[2Jb"), std::string("a\x7f")}) {
    INFO(value);
    CHECK_FALSE(is_field_value(value));
  }
}

TEST_CASE("a recorded header list keeps what can be written and notes what cannot",
          "[session][replay_fields]") {
  header_list const recorded = {
      {"Content-Type", "application/json"},
      {"X-Note", "ok\r\nX-Injected: yes\r\n\r\nHTTP/1.1 200 OK"},
      {"Bad\r\nName", "v"},
      {"X-Nul", std::string("a\0b", 3)},
      {"", "empty name"},
      {"X-Huge", std::string(max_replayed_field_bytes + 1, 'a')},
      {"X-Long-Enough", std::string(max_replayed_field_bytes, 'a')},
      {"Docker-Content-Digest", "sha256:abc"},
  };
  auto const out = writable_fields_of(recorded);
  REQUIRE(out.kept.size() == 3);
  CHECK(out.kept[0].name == "Content-Type");
  CHECK(out.kept[1].name == "X-Long-Enough");
  CHECK(out.kept[2] == recorded.back());
  REQUIRE(out.notes.size() == 5);
  CHECK(contains(out.notes[0], "X-Note"));
  CHECK(contains(out.notes[0], "CR, LF, NUL"));
  CHECK(contains(out.notes[1], "not an HTTP token"));
  CHECK(contains(out.notes[1], "\"Bad? Name\""));  // quoted printably
  CHECK(contains(out.notes[2], "X-Nul"));
  CHECK(contains(out.notes[4], "longer than 65533 bytes"));
  CHECK(out.notes[4].size() < 200);  // the value is not repeated
  for (auto const& note : out.notes) CHECK_FALSE(has_control(note));
}

TEST_CASE("a Content-Length written back is digits within 64 bits", "[session][replay_fields]") {
  CHECK(parse_content_length("0") == 0u);
  CHECK(parse_content_length("1048576") == 1048576u);
  CHECK(parse_content_length("9999999999999999999") == 9999999999999999999ull);
  for (char const* bad :
       {"", "-1", "+5", " 5", "5 ", "5\r\nX: y", "0x10", "1e3", "10, 10", "99999999999999999999"})
    CHECK_FALSE(parse_content_length(bad));
}

TEST_CASE("replay send re-sends only a request line that is one line", "[session][replay_fields]") {
  exchange x;
  x.method = "GET";
  x.host = "registry.example.com";
  x.target = "/v2/team/app/manifests/v1?n=1";
  std::string why;
  CHECK(is_resendable_request(x, &why));
  x.host = "[::1]";
  CHECK(is_resendable_request(x, &why));

  auto bad_target = x;
  bad_target.target = "/v2/ HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET /x";
  CHECK_FALSE(is_resendable_request(bad_target, &why));
  CHECK(contains(why, "request target"));
  CHECK_FALSE(has_control(why));
  bad_target.target = "http://evil/";
  CHECK_FALSE(is_resendable_request(bad_target, nullptr));
  bad_target.target = std::string("/v2/\0", 5);
  CHECK_FALSE(is_resendable_request(bad_target, nullptr));

  auto bad_host = x;
  for (std::string host : {std::string{}, std::string("r.example\r\nX: y"), std::string("a b"),
                           std::string("evil/x"), std::string("user@host")}) {
    bad_host.host = host;
    INFO(host);
    CHECK_FALSE(is_resendable_request(bad_host, &why));
    CHECK(contains(why, "host"));
    CHECK_FALSE(has_control(why));
  }
}
