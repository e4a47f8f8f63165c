// A request body regtrace cannot parse (issue 13): the client is answered 400 and the entry says the
// client sent a malformed chunked body, even though the request head and part of the body already
// went upstream. Before, the client's connection was closed with no answer and nothing said why.
#include "tests/support/world.hpp"

#include "capture/model/failure.hpp"

namespace regtrace::test {
namespace {

using capture::failed_with;

// A chunked upload over plain HTTP (absolute form): one good chunk ("hello"), then `rest`.
std::string chunked_upload(world const& w, std::string const& rest) {
  return "POST http://" + w.authority() + "/upload HTTP/1.1\r\nHost: " + w.authority() +
         "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n" + rest;
}

// relayed: the body bytes that went upstream before the parser refused the rest.
void check_answered_400(world& w, std::string const& answer, std::string const& parser_said,
                        std::uint64_t relayed) {
  INFO(answer);
  CHECK(answer.starts_with("HTTP/1.1 400"));
  CHECK(answer.find("could not parse the request body") != std::string::npos);

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  auto const& x = entries[0];
  CHECK(x.method == "POST");
  CHECK(x.target == "/upload");
  CHECK(x.status == 400);
  CHECK(x.generated_response);
  REQUIRE(x.failure);
  CHECK(failed_with(x, capture::errc::malformed_request));
  CHECK(x.failure->where == capture::phase::request_relay);
  CHECK(x.failure->peer == capture::failing_peer::client);
  CHECK(x.failure->detail.find("malformed chunked request body") != std::string::npos);
  CHECK(x.failure->detail.find(parser_said) != std::string::npos);
  CHECK(x.request_body.bytes == relayed);
  CHECK_FALSE(x.request_body.complete);
}

TEST_CASE("a chunk size that overflows is answered 400 and recorded as the client's malformed body",
          "[relay][malformed]") {
  world w({}, false);
  proxy_client client(w.proxy.port());
  auto answer = client.raw_exchange(chunked_upload(w, "fffffffffffffffffff\r\n0123456789\r\n0\r\n\r\n"));
  check_answered_400(w, answer, "bad chunk", 5);  // "hello" went upstream
  CHECK(w.upstream.connections() == 1);           // the head went upstream first: the defect's situation
}

TEST_CASE("a chunk without its CRLF is answered 400 the same way", "[relay][malformed]") {
  world w({}, false);
  proxy_client client(w.proxy.port());
  auto answer = client.raw_exchange(chunked_upload(w, "3\r\nabcXY0\r\n\r\n"));
  check_answered_400(w, answer, "bad chunk", 8);  // "hello" and "abc" went upstream
}

TEST_CASE("a bad chunk extension is answered 400 the same way", "[relay][malformed]") {
  world w({}, false);
  proxy_client client(w.proxy.port());
  auto answer = client.raw_exchange(chunked_upload(w, "3;\x01=\x02\r\nabc\r\n0\r\n\r\n"));
  check_answered_400(w, answer, "bad chunk extension", 5);
}

}  // namespace
}  // namespace regtrace::test
