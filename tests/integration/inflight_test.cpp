// The failing moment (issue 12): what a client gave up on, and what was in flight when regtrace
// stopped, is in the trace as it happened: written at once, saying who stopped and where it stood,
// and nothing recorded as sent that the client never received.
#include "tests/support/loopback_listener.hpp"
#include "tests/support/world.hpp"

#include <boost/asio/read.hpp>

#include <thread>

namespace regtrace::test {
namespace {

using capture::failed_with;

// An upstream that accepts TCP and then says nothing: no ServerHello, no answer (catalog A-06).
loopback_listener silent_listener() {
  return loopback_listener([](boost::asio::ip::tcp::socket& socket) {
    char byte;
    boost::system::error_code ec;
    boost::asio::read(socket, boost::asio::buffer(&byte, 1), ec);  // until the proxy closes
    while (!ec) boost::asio::read(socket, boost::asio::buffer(&byte, 1), ec);
  });
}

TEST_CASE("a client that gives up on a silent TLS handshake is written at once, naming the wait",
          "[inflight]") {
  auto silent = silent_listener();
  world w([&](proxy::proxy_config& config) {
    config.resolve_rules.push_back({"silent.test", silent.port(), "127.0.0.1"});
  });
  auto client = std::make_unique<proxy_client>(w.proxy.port());
  REQUIRE(client->send_connect("silent.test:" + std::to_string(silent.port())) == 200);
  REQUIRE(client->handshake("silent.test", w.proxy.ca_file()) == "");
  client->send_only("GET", "/v2/");
  while (silent.connections() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  client.reset();  // the client's timer fired: it closes the tunnel

  // The connect timeout is 30 s: an entry before it comes from the client's close, not from a timeout.
  auto entries = wait_for_trace_entries(w.proxy.har_file(), 1);
  REQUIRE(entries.size() == 1);
  auto const& x = entries[0];
  CHECK(x.target == "/v2/");
  CHECK(x.status == 0);  // the client received nothing: no 502 or 504 on the entry
  CHECK_FALSE(x.generated_response);
  REQUIRE(x.failure);
  CHECK(failed_with(x, capture::errc::client_abandoned));
  CHECK(x.failure->where == capture::phase::upstream_tls);
  CHECK(x.failure->peer == capture::failing_peer::client);
  CHECK(x.failure->detail.find("the client closed the connection after") == 0);
  CHECK(x.failure->detail.find("TLS handshake") != std::string::npos);
  // The upstream handshake has its own clock, though it never finished.
  CHECK(x.timings.connect >= 0);
  CHECK(x.timings.ssl >= 0);
  CHECK(x.server_ip == "127.0.0.1");
}

TEST_CASE("a client that gives up while the answer's body has stopped moving is written at once",
          "[inflight]") {
  world w;
  auto client = w.tunnel();
  client->send_only("GET", "/stall/10000000");  // the header and 100 KiB, then silence
  auto const head = client->read_head();
  CHECK(head.starts_with("HTTP/1.1 200"));
  client.reset();

  auto entries = wait_for_trace_entries(w.proxy.har_file(), 1);
  REQUIRE(entries.size() == 1);
  auto const& x = entries[0];
  CHECK(x.status == 200);  // the header reached the client
  CHECK_FALSE(x.response_body.complete);
  CHECK(x.response_body.bytes < 10000000);
  REQUIRE(x.failure);
  CHECK(failed_with(x, capture::errc::client_abandoned));
  CHECK(x.failure->where == capture::phase::response_relay);
  CHECK(x.failure->detail.find("relaying the response body") != std::string::npos);
}

TEST_CASE("a request whose header the client never finished is an entry, not a 400 nobody read",
          "[inflight]") {
  world w;
  {
    proxy_client client(w.proxy.port());
    client.send_raw("CONNECT registry.test:443 HTTP/1.1\r\nHost: regis");
  }  // closed in the middle of the header
  auto entries = wait_for_trace_entries(w.proxy.har_file(), 1);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].status == 0);
  CHECK_FALSE(entries[0].generated_response);
  CHECK(failed_with(entries[0], capture::errc::client_abandoned));
  CHECK(entries[0].failure->where == capture::phase::connect_request);
  CHECK(entries[0].method == "CONNECT");
}

TEST_CASE("on stop, every exchange, request and handshake in flight is written as an incomplete entry",
          "[inflight]") {
  world w([](proxy::proxy_config& config) { config.passthrough_globs = {"pass.test"}; });
  auto waiting = w.tunnel();
  waiting->send_only("GET", "/silent");  // the upstream never answers
  auto streaming = w.tunnel();
  streaming->send_only("GET", "/stall/10000000");
  CHECK(streaming->read_head().starts_with("HTTP/1.1 200"));
  proxy_client half_sent(w.proxy.port());
  half_sent.send_raw("GET http://registry.test/v2/ HTTP/1.1\r\nHo");
  proxy_client no_handshake(w.proxy.port());
  REQUIRE(no_handshake.send_connect(w.authority()) == 200);  // and no ClientHello after it
  while (w.upstream.requests() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the half-sent header arrive

  auto entries = w.proxy.stop_and_read();
  for (auto const& x : entries) UNSCOPED_INFO(x.method << " " << x.url() << " " << (x.failure ? x.failure->detail : ""));
  REQUIRE(entries.size() == 4);
  for (auto const& x : entries) {
    INFO(x.method << " " << x.url());
    REQUIRE(x.failure);
    CHECK(failed_with(x, capture::errc::proxy_stopped));
    CHECK(x.failure->detail.find("regtrace was stopped") == 0);
  }
  auto const& silent = entry_for(entries, "/silent");
  CHECK(silent.status == 0);
  CHECK(silent.failure->where == capture::phase::response_relay);
  auto const& stalled = entry_for(entries, "/stall/10000000");
  CHECK(stalled.status == 200);
  CHECK_FALSE(stalled.response_body.complete);
  auto const handshake = std::find_if(entries.begin(), entries.end(), [](auto const& x) {
    return x.failure->where == capture::phase::client_tls;
  });
  CHECK(handshake != entries.end());
  auto const partial = std::find_if(entries.begin(), entries.end(), [](auto const& x) {
    return x.failure->where == capture::phase::connect_request;
  });
  CHECK(partial != entries.end());
}

}  // namespace
}  // namespace regtrace::test
