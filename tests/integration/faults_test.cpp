// Faults on either leg (issue 13): an upstream that resets mid-blob or never speaks TLS, a client that
// reads nothing while a large body flows, a client that sends its request head a byte at a time. Each
// ends at the right timeout or error, keeps regtrace's memory bounded, and is an entry saying which
// peer failed. (The trace's own disk filling up, kill -9 and SIGTERM mid-transfer: tests/e2e/
// test-disk-full.sh and test-faults.sh.)
#include "tests/support/cloud_world.hpp"
#include "tests/support/loopback_listener.hpp"
#include "tests/support/world.hpp"

#include <boost/asio/read.hpp>

#include <thread>

using namespace regtrace;
using namespace regtrace::test;
using namespace std::chrono_literals;

namespace {

bool is_code(capture::failure_record const& failure, capture::errc code) {
  return failure.code_category == "regtrace" && failure.code_value == static_cast<int>(code);
}

// An upstream that accepts TCP and then says nothing: no ServerHello, ever.
loopback_listener silent_listener() {
  return loopback_listener([](boost::asio::ip::tcp::socket& socket) {
    char byte;
    boost::system::error_code ec;
    while (!ec) boost::asio::read(socket, boost::asio::buffer(&byte, 1), ec);  // until the proxy closes
  });
}

}  // namespace

TEST_CASE("an upstream that resets mid-blob is the failing peer; the client sees the cut", "[faults][curl]") {
  cloud_world w;
  std::string const layer(1 << 20, 'r');
  auto const digest = digest_of(layer);
  reply cut{200, {{"Content-Type", "application/octet-stream"}}, layer, {}};
  cut.body_stops_after = 64 << 10;
  cut.reset = true;
  w.upstream.on(cloud_registry::registry_host, "GET", "/v2/app/blobs/" + digest, {cut});
  int status = 0;
  auto const output = curl(
      w,
      "-o /dev/null '" + w.upstream.url(cloud_registry::registry_host, "/v2/app/blobs/" + digest) + "' 2>&1",
      &status);
  INFO(output);
  CHECK(status != 0);  // curl (18) or (56): the body ended short
  CHECK(output.find("curl: (") != std::string::npos);

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  auto const& x = entries[0];
  CHECK(x.status == 200);  // the head reached the client
  CHECK_FALSE(x.response_body.complete);
  CHECK(x.response_body.bytes < layer.size());
  REQUIRE(x.failure);
  CHECK(x.failure->where == capture::phase::response_relay);
  CHECK(x.failure->peer == capture::failing_peer::upstream);
  CHECK(x.failure->code_category == "system");
  CHECK(x.failure->code_value == ECONNRESET);
}

TEST_CASE("an upstream that accepts TCP and never speaks TLS: 504 at the connect timeout",
          "[faults][timeout]") {
  auto silent = silent_listener();
  world w([&](proxy::proxy_config& config) {
    config.connect_timeout = 1s;
    config.resolve_rules.push_back({"silent.test", silent.port(), "127.0.0.1"});
  });
  proxy_client client(w.proxy.port());
  REQUIRE(client.send_connect("silent.test:" + std::to_string(silent.port())) == 200);
  REQUIRE(client.handshake("silent.test", w.proxy.ca_file()) == "");
  auto const answer = client.request("GET", "/v2/");  // the client waits as long as it takes
  INFO(answer.body);
  CHECK((answer.status == 504 || answer.status == 502));
  CHECK(nlohmann::json::parse(answer.body)["regtrace"]["phase"] == "upstream_tls");

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  auto const& x = entries[0];
  CHECK(x.status == answer.status);
  CHECK(x.generated_response);
  REQUIRE(x.failure);
  INFO(x.failure->message << " / " << x.failure->detail);
  CHECK(x.failure->where == capture::phase::upstream_tls);
  CHECK(x.failure->code_category == "boost.beast");  // beast::error::timeout
  CHECK(x.failure->detail.find("TLS handshake with silent.test") != std::string::npos);
  CHECK(x.timings.ssl >= 0);  // the handshake's clock ran, though it never finished
}

TEST_CASE("a client that reads nothing of a 1 GiB body: bounded buffering, idle cut", "[faults][timeout]") {
  world w([](proxy::proxy_config& config) { config.idle_timeout = 1s; });
  auto client = w.tunnel();
  std::uint64_t const size = 1ull << 30;
  client->send_only("GET", "/blob/" + std::to_string(size));
  CHECK(client->read_head().starts_with("HTTP/1.1 200"));
  // ...and not one byte of the body: the client's socket buffers fill, then regtrace's writes stall.
  auto entries = wait_for_trace_entries(w.proxy.har_file(), 1);
  REQUIRE(entries.size() == 1);
  auto const& x = entries[0];
  CHECK(x.status == 200);
  CHECK_FALSE(x.response_body.complete);
  // What regtrace read from the upstream is what it could not pass on: socket buffers and a chunk or
  // two, never the body (a relay that read ahead would hold up to 1 GiB here).
  UNSCOPED_INFO("regtrace read " << x.response_body.bytes << " bytes of the body before the cut");
  CHECK(x.response_body.bytes < 32ull << 20);
  REQUIRE(x.failure);
  INFO(x.failure->message << " / " << x.failure->detail);
  CHECK(x.failure->where == capture::phase::response_relay);
  CHECK(x.failure->peer == capture::failing_peer::client);
  CHECK(x.failure->detail.find("client") != std::string::npos);
}

TEST_CASE("a slowloris client (a request head byte by byte) is cut, the client the slow peer",
          "[faults][timeout]") {
  world w([](proxy::proxy_config& config) { config.idle_timeout = 1s; });
  proxy_client client(w.proxy.port());
  std::string const head = "CONNECT " + w.authority() + " HTTP/1.1\r\nHost: " + w.authority() +
                           "\r\nUser-Agent: slowloris/1.0 (one byte every 400 ms)\r\n\r\n";
  // Every byte comes well within the idle timeout: only a deadline on the whole head ends it.
  std::size_t sent = 0;
  for (; sent < head.size(); ++sent) {
    try {
      client.send_raw(head.substr(sent, 1));
    } catch (std::exception const&) {
      break;  // regtrace has closed the connection
    }
    std::this_thread::sleep_for(400ms);
    if (capture::read_har_file(w.proxy.har_file()).exchanges.size() == 1) break;
  }
  INFO("sent " << sent << " of " << head.size() << " bytes");
  CHECK(sent < head.size());
  // The deadline cancels the read and leaves the socket open, so the client is told why (issue 13).
  auto const answer = client.raw_exchange("");
  CHECK(answer.starts_with("HTTP/1.1 408"));
  int const received = answer.starts_with("HTTP/1.1 408") ? 408 : 0;

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  auto const& x = entries[0];
  CHECK(x.status == received);
  CHECK(x.generated_response == (received == 408));
  REQUIRE(x.failure);
  INFO(x.failure->message << " / " << x.failure->detail);
  CHECK(is_code(*x.failure, capture::errc::client_timeout));
  CHECK(x.failure->where == capture::phase::connect_request);
  CHECK(x.failure->peer == capture::failing_peer::client);
  CHECK(x.failure->detail.starts_with("the client stopped sending the request header"));
  CHECK(x.failure->detail.find("received: \"CON") != std::string::npos);  // what it had received so far
}
