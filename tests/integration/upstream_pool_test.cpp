// The upstream pool closes a connection that outlived its idle timeout by itself (issue 13): before,
// an idle connection was only dropped when a later take() found it too old, so with no further request
// every pooled connection stayed open for good.
#include "tests/support/loopback_listener.hpp"
#include "tests/support/test_support.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <thread>

namespace regtrace::test {
namespace {

namespace asio = boost::asio;

// A plain-HTTP upstream that answers one request, keeps the connection alive, and notes when regtrace
// closes it (EOF) of its own accord.
struct one_answer_upstream {
  std::atomic<bool> saw_eof{false};
  loopback_listener listener{[this](asio::ip::tcp::socket& socket) {
    boost::system::error_code ec;
    asio::streambuf head;
    asio::read_until(socket, head, "\r\n\r\n", ec);
    if (ec) return;
    std::string_view answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
    asio::write(socket, asio::buffer(answer), ec);
    char byte;
    while (!ec) asio::read(socket, asio::buffer(&byte, 1), ec);
    if (ec == asio::error::eof) saw_eof = true;
  }};
};

// The test's own wait: bounded only so that a pool that never closes ends the test.
bool eventually(std::atomic<bool> const& flag) {
  for (int i = 0; i < 3000 && !flag; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return flag;
}

TEST_CASE("an idle pooled connection is closed after the pool's idle timeout with no further request",
          "[pool]") {
  one_answer_upstream upstream;
  auto const authority = "pooled.test:" + std::to_string(upstream.listener.port());
  proxy_fixture proxy([&](proxy::proxy_config& config) {
    config.pool_idle_timeout = std::chrono::seconds(1);
    config.resolve_rules = {{"pooled.test", upstream.listener.port(), "127.0.0.1"}};
  });
  proxy_client client(proxy.port());
  auto answer = client.request("GET", "http://" + authority + "/v2/");
  REQUIRE(answer.status == 200);
  REQUIRE(answer.keep_alive);

  // The client stays connected and sends nothing more: only the pool's own timer can close the
  // upstream connection now.
  CHECK(eventually(upstream.saw_eof));
  CHECK(upstream.listener.connections() == 1);

  // The client connection is still served: the next request opens a new upstream connection.
  auto again = client.request("GET", "http://" + authority + "/v2/");
  CHECK(again.status == 200);
  CHECK(upstream.listener.connections() == 2);
  auto entries = proxy.stop_and_read();
  REQUIRE(entries.size() == 2);
  CHECK_FALSE(entries[1].upstream_reused);
}

}  // namespace
}  // namespace regtrace::test
