#include "proxy/session/tunnel.hpp"

#include "proxy/config/upstream_proxy.hpp"
#include "proxy/io/timing.hpp"
#include "proxy/session/interruption.hpp"
#include "proxy/session/generated_response.hpp"
#include "proxy/upstream/connect.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace regtrace::proxy {
namespace {

using namespace net::experimental::awaitable_operators;

// One direction of the tunnel; half-closes the other side when this one ends, so the peer sees EOF.
net::awaitable<void> pump(tcp::socket& from, tcp::socket& to, std::uint64_t& bytes,
                          steady_clock::time_point& last_activity) {
  std::array<char, 16 * 1024> buffer;
  for (;;) {
    auto [read_ec, n] = co_await from.async_read_some(net::buffer(buffer), use_nothrow);
    if (read_ec) break;
    last_activity = steady_clock::now();
    bytes += n;
    auto [write_ec, written] = co_await net::async_write(to, net::buffer(buffer.data(), n), use_nothrow);
    if (write_ec) break;
  }
  beast::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

// Ends the tunnel when neither direction has moved a byte for `idle` (a tunnel may be quiet in one
// direction for long, so per-operation timeouts would cut healthy transfers).
net::awaitable<void> watchdog(steady_clock::time_point& last_activity, std::chrono::seconds idle) {
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(use_nothrow);
    if (ec || steady_clock::now() - last_activity > idle) co_return;
  }
}

}  // namespace

net::awaitable<void> run_tunnel(client_side& client, authority destination, capture::exchange& record,
                                proxy_context& context) {
  auto const& config = context.config;
  auto const connect_started = steady_clock::now();
  upstream_target target{"tcp", destination.host, destination.port};
  record.upstream_proxy = display_url(config.upstream_proxy);
  // While the destination is dialled, a client that gives up is noticed at once (client_watch).
  client.watch_for_close = true;
  client.closed_at.reset();
  auto opened = co_await open_upstream(target, config, context.upstream_tls, ++context.next_upstream_id,
                                       &client.waiting_on);
  client.watch_for_close = false;
  if (!record_connection_attempt(record, opened)) {
    record.kind = capture::entry_kind::connect_failed;
    if (!record_if_cut_short(record, client, context, record.failure->where, opening_step(record.failure->where),
                             connect_started, ended_by_regtrace(*record.failure)))
      co_await respond_generated(client, record, status_for_upstream_failure(opened.timed_out),
                                 record.failure->detail + ": " + record.failure->message, config);
    context.sink->submit(std::move(record));
    co_return;
  }
  auto upstream = std::move(opened.connection);
  client.waiting_on.stream = &upstream->stream.tcp();  // a stopping regtrace closes it
  record.kind = capture::entry_kind::tunnel;
  record.upstream_connection_id = upstream->id;
  record.server_ip = upstream->server_ip;
  record.status = 200;
  record.reason = "Connection established";

  auto& client_socket = client.stream.tcp().socket();
  auto& upstream_socket = upstream->stream.tcp().socket();
  auto [ec, n] = co_await net::async_write(client_socket, net::buffer(connect_established), use_nothrow);
  // Bytes an --upstream-proxy passed on right behind its own answer came from the destination.
  if (!ec && upstream->buffer.size() > 0) {
    record.response_body.bytes += upstream->buffer.size();
    std::tie(ec, n) = co_await net::async_write(client_socket, upstream->buffer.data(), use_nothrow);
    upstream->buffer.consume(upstream->buffer.size());
  }
  // Bytes the client sent right behind the CONNECT belong to the tunnel.
  if (!ec && client.buffer.size() > 0) {
    record.request_body.bytes += client.buffer.size();
    std::tie(ec, n) = co_await net::async_write(upstream_socket, client.buffer.data(), use_nothrow);
    client.buffer.consume(client.buffer.size());
  }
  auto started = steady_clock::now();
  auto last_activity = started;
  if (!ec) {
    co_await ((pump(client_socket, upstream_socket, record.request_body.bytes, last_activity) &&
               pump(upstream_socket, client_socket, record.response_body.bytes, last_activity)) ||
              watchdog(last_activity, config.idle_timeout));
  }
  record.timings.receive = ms_between(started, steady_clock::now());
  client.waiting_on = {};
  if (context.stopping)  // the tunnel was open when regtrace stopped: an incomplete entry
    record_if_cut_short(record, client, context, capture::phase::response_relay, "relaying the tunnel's bytes",
                        connect_started, true);
  context.sink->submit(std::move(record));
}

}  // namespace regtrace::proxy
