// proxy::tls_stream on loopback with real TLS, one end of it on each side: bytes arrive unchanged
// whatever the write sizes and with both directions busy at once, the ends of a connection read as
// Asio's ssl::stream reports them, a server handshake takes bytes already read, and handshake failures
// keep OpenSSL's reason (the proxy's failure records and read it).
#include "proxy/io/net.hpp"
#include "proxy/io/tls_stream.hpp"
#include "tests/support/test_support.hpp"
#include "tls/contexts.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/read.hpp>

#include <random>

using namespace regtrace;
using namespace regtrace::test;
using regtrace::proxy::tls_stream;
namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using proxy::use_nothrow;

namespace {

constexpr char const* host = "stream.test";

struct tls_pair_world {
  tls_pair_world() : pki(make_test_pki(dir.path(), host)) {
    server_context.use_certificate_chain_file(pki.cert_file.string());
    server_context.use_private_key_file(pki.key_file.string(), net::ssl::context::pem);
    client_context.load_verify_file(pki.ca_file.string());
    client_context.set_verify_mode(net::ssl::verify_peer);
  }
  /// A connected pair of TCP streams on loopback: (server side, client side).
  std::pair<beast::tcp_stream, beast::tcp_stream> connect() {
    tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    auto server = acceptor.accept();
    return {beast::tcp_stream(std::move(server)), beast::tcp_stream(std::move(client))};
  }
  /// Runs the coroutine to its end.
  void run(net::awaitable<void> task) {
    bool finished = false;
    net::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
      finished = true;
      if (e) std::rethrow_exception(e);
    });
    io.run();
    io.restart();
    REQUIRE(finished);
  }

  temp_dir dir;
  test_pki pki;
  net::io_context io;
  net::ssl::context server_context{net::ssl::context::tls_server};
  net::ssl::context client_context{net::ssl::context::tls_client};
};

void name_server(tls_stream& client) {
  SSL_set_tlsext_host_name(client.native_handle(), host);
  SSL_set1_host(client.native_handle(), host);
}

struct both_ends {
  beast::error_code server;
  beast::error_code client;
};

// Both handshakes at once, each in its own coroutine.
net::awaitable<both_ends> handshake_both(tls_stream& server, tls_stream& client) {
  both_ends result;
  int pending = 2;
  auto executor = co_await net::this_coro::executor;
  net::steady_timer done(executor, net::steady_timer::time_point::max());
  auto finish = [&] {
    if (--pending == 0) done.cancel();
  };
  server.async_handshake(net::ssl::stream_base::server, [&](beast::error_code ec) {
    result.server = ec;
    finish();
  });
  client.async_handshake(net::ssl::stream_base::client, [&](beast::error_code ec) {
    result.client = ec;
    finish();
  });
  auto [waited] = co_await done.async_wait(use_nothrow);
  (void)waited;
  co_return result;
}

// Echoes what it reads until the peer ends; returns how the read side ended.
net::awaitable<beast::error_code> echo(tls_stream& stream) {
  std::vector<char> buffer(100 * 1000);
  for (;;) {
    auto [read_ec, n] = co_await stream.async_read_some(net::buffer(buffer), use_nothrow);
    if (read_ec) co_return read_ec;
    auto [write_ec, written] = co_await net::async_write(stream, net::buffer(buffer.data(), n), use_nothrow);
    if (write_ec) co_return write_ec;
  }
}

// Writes size pattern bytes in pieces of random sizes (1 byte to 300 KiB).
net::awaitable<beast::error_code> send_pattern(tls_stream& stream, std::uint64_t size) {
  std::mt19937 random(7);
  std::uniform_int_distribution<std::size_t> piece_size(1, 300 * 1024);
  std::vector<char> piece;
  for (std::uint64_t sent = 0; sent < size;) {
    piece.resize(std::min<std::uint64_t>(piece_size(random), size - sent));
    fill_pattern(sent, piece);
    auto [ec, n] = co_await net::async_write(stream, net::buffer(piece), use_nothrow);
    if (ec) co_return ec;
    sent += n;
  }
  co_return beast::error_code{};
}

// Coroutines are free functions taking references (STYLE rule 3: no capturing lambda coroutines).

struct both_ways_outcome {
  beast::error_code send_ec, echo_ec, shutdown_ec;
  std::uint64_t received = 0;
  sha256_stream received_hash;
};

// The server echoes; the client sends and reads back at the same time (one read and one write
// outstanding on each stream), then closes with close_notify.
net::awaitable<void> send_and_read_back(tls_stream& server, tls_stream& client, std::uint64_t size,
                                        both_ways_outcome& out) {
  auto ends = co_await handshake_both(server, client);
  REQUIRE_FALSE(ends.server);
  REQUIRE_FALSE(ends.client);
  net::co_spawn(server.get_executor(), echo(server), [&out](std::exception_ptr, beast::error_code ec) { out.echo_ec = ec; });
  net::co_spawn(client.get_executor(), send_pattern(client, size),
                [&out](std::exception_ptr, beast::error_code ec) { out.send_ec = ec; });
  std::vector<char> buffer(64 * 1024);
  while (out.received < size) {
    auto [ec, n] = co_await client.async_read_some(net::buffer(buffer), use_nothrow);
    REQUIRE_FALSE(ec);
    out.received_hash.update({buffer.data(), n});
    out.received += n;
  }
  auto [ec] = co_await client.async_shutdown(use_nothrow);
  out.shutdown_ec = ec;
}

struct truncation_outcome {
  beast::error_code read_ec;
  std::string got;
};

// The client writes, then ends its side without close_notify; the server reads to the end.
net::awaitable<void> write_and_vanish(tls_stream& server, tls_stream& client, truncation_outcome& out) {
  auto ends = co_await handshake_both(server, client);
  REQUIRE_FALSE(ends.client);
  auto const words = std::string_view("last words");
  auto [write_ec, n] = co_await net::async_write(client, net::buffer(words), use_nothrow);
  REQUIRE_FALSE(write_ec);
  // TCP's FIN without close_notify (a full close could turn into a reset: the client never read the
  // server's session tickets).
  beast::error_code ignored;
  client.next_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 64> buffer{};
  for (;;) {
    auto [ec, read] = co_await server.async_read_some(net::buffer(buffer), use_nothrow);
    out.got.append(buffer.data(), read);
    if (ec) {
      out.read_ec = ec;
      co_return;
    }
  }
}

struct early_bytes_outcome {
  beast::error_code server_ec, client_ec;
  std::size_t used = 0;
  std::string echoed;
};

// Like the CONNECT parser: some of the ClientHello is read from the socket before TLS starts.
net::awaitable<void> handshake_after_early_bytes(beast::tcp_stream& server_tcp, tls_stream& client,
                                                 net::ssl::context& server_context, early_bytes_outcome& out) {
  client.async_handshake(net::ssl::stream_base::client, [&out](beast::error_code ec) { out.client_ec = ec; });
  std::array<char, 100> first{};
  auto [read_ec, n] = co_await net::async_read(server_tcp, net::buffer(first), use_nothrow);
  REQUIRE_FALSE(read_ec);
  tls_stream server(std::move(server_tcp), server_context);
  auto const early = net::const_buffer(first.data(), n);
  auto [ec, consumed] = co_await server.async_handshake(net::ssl::stream_base::server, early, use_nothrow);
  out.server_ec = ec;
  out.used = consumed;
  auto const ping = std::string_view("ping");
  auto [write_ec, written] = co_await net::async_write(client, net::buffer(ping), use_nothrow);
  REQUIRE_FALSE(write_ec);
  std::array<char, 4> buffer{};
  auto [echo_ec, got] = co_await net::async_read(server, net::buffer(buffer), use_nothrow);
  REQUIRE_FALSE(echo_ec);
  out.echoed.assign(buffer.data(), got);
}

net::awaitable<void> handshake_into(tls_stream& server, tls_stream& client, both_ends& ends) {
  ends = co_await handshake_both(server, client);
}

}  // namespace

TEST_CASE("tls_stream carries bytes unchanged both ways at once, in pieces of any size", "[tls_stream]") {
  tls_pair_world w;
  auto [server_tcp, client_tcp] = w.connect();
  tls_stream server(std::move(server_tcp), w.server_context);
  tls_stream client(std::move(client_tcp), w.client_context);
  name_server(client);
  constexpr std::uint64_t size = 24ull << 20;

  both_ways_outcome out;
  w.run(send_and_read_back(server, client, size, out));
  CHECK_FALSE(out.send_ec);
  CHECK(out.received == size);
  CHECK(out.received_hash.hex() == pattern_sha256(size));
  CHECK_FALSE(out.shutdown_ec);
  CHECK(out.echo_ec == net::error::eof);  // the client's close_notify
}

TEST_CASE("tls_stream: a peer that closes without close_notify reads as stream_truncated", "[tls_stream]") {
  tls_pair_world w;
  auto [server_tcp, client_tcp] = w.connect();
  tls_stream server(std::move(server_tcp), w.server_context);
  tls_stream client(std::move(client_tcp), w.client_context);
  name_server(client);
  truncation_outcome out;
  w.run(write_and_vanish(server, client, out));
  CHECK(out.got == "last words");  // what arrived before the close is delivered first
  CHECK(out.read_ec == net::ssl::error::stream_truncated);
}

TEST_CASE("tls_stream: a server handshake uses the bytes a CONNECT reader already took", "[tls_stream]") {
  tls_pair_world w;
  auto [server_tcp, client_tcp] = w.connect();
  tls_stream client(std::move(client_tcp), w.client_context);
  name_server(client);
  early_bytes_outcome out;
  w.run(handshake_after_early_bytes(server_tcp, client, w.server_context, out));
  CHECK_FALSE(out.server_ec);
  CHECK_FALSE(out.client_ec);
  CHECK(out.used == 100);
  CHECK(out.echoed == "ping");
}

TEST_CASE("tls_stream: handshake failures keep OpenSSL's reason on both ends", "[tls_stream]") {
  tls_pair_world w;
  // A client that trusts another CA: it rejects the certificate and tells the server with an alert.
  temp_dir other;
  auto other_pki = make_test_pki(other.path(), host);
  net::ssl::context distrusting{net::ssl::context::tls_client};
  distrusting.load_verify_file(other_pki.ca_file.string());
  distrusting.set_verify_mode(net::ssl::verify_peer);
  auto [server_tcp, client_tcp] = w.connect();
  tls_stream server(std::move(server_tcp), w.server_context);
  tls_stream client(std::move(client_tcp), distrusting);
  name_server(client);
  both_ends ends;
  w.run(handshake_into(server, client, ends));
  REQUIRE(ends.client);
  CHECK(ends.client.category() == net::error::get_ssl_category());
  CHECK(SSL_get_verify_result(client.native_handle()) != X509_V_OK);
  REQUIRE(ends.server);
  REQUIRE(ends.server.category() == net::error::get_ssl_category());
  CHECK(tls::is_alert_received(static_cast<unsigned long>(ends.server.value())));
  CHECK(tls::alert_from_error(static_cast<unsigned long>(ends.server.value())) != "");
}
