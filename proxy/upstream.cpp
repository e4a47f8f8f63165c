#include "proxy/upstream.hpp"

#include "proxy/connect_request.hpp"
#include "proxy/host_rules.hpp"
#include "proxy/timing.hpp"
#include "tls/contexts.hpp"

#include <sys/socket.h>

namespace regtrace::proxy {

capture::tls_leg to_tls_leg(tls::session_summary const& s) {
  return {.version = s.version,
          .cipher = s.cipher,
          .alpn = s.alpn,
          .sni = s.sni,
          .session_resumed = s.resumed,
          .verified = s.verified,
          .verify_error = s.verify_error,
          .peer_chain = s.peer_chain};
}

namespace {

// A pooled connection may have been closed by the server while idle. A non-blocking peek tells:
// 0 bytes is the FIN, data is a close_notify or garbage; either way the connection is not reusable.
bool still_open(upstream_connection& c) {
  auto& socket = c.stream.tcp().socket();
  if (!socket.is_open()) return false;
  char byte;
  auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<upstream_connection> upstream_pool::take(upstream_target const& target) {
  std::lock_guard lock(mutex_);
  auto found = idle_.find(target.key());
  if (found == idle_.end()) return nullptr;
  auto& list = found->second;
  auto now = steady_clock::now();
  while (!list.empty()) {
    auto connection = std::move(list.back());  // most recently used first: least likely to be closed
    list.pop_back();
    if (now - connection->idle_since < config_.pool_idle_timeout && still_open(*connection))
      return connection;
  }
  return nullptr;
}

void upstream_pool::give_back(upstream_target const& target,
                              std::unique_ptr<upstream_connection> connection) {
  connection->idle_since = steady_clock::now();
  std::lock_guard lock(mutex_);
  auto& list = idle_[target.key()];
  list.push_back(std::move(connection));
  while (list.size() > config_.pool_max_idle_per_host) list.pop_front();
}

void upstream_pool::clear() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

net::awaitable<connect_result> open_upstream(upstream_target target, proxy_config const& config,
                                             net::ssl::context& upstream_tls, std::uint64_t id) {
  connect_result result;
  auto executor = co_await net::this_coro::executor;
  auto fail = [&](capture::phase where, beast::error_code ec, std::string detail) {
    result.failure = capture::make_failure(where, ec, std::move(detail));
    result.timed_out = ec == beast::error::timeout;
  };

  // Resolve: --resolve pins win, as in curl, so tests and node pinning never touch DNS.
  auto started = steady_clock::now();
  tcp::resolver::results_type endpoints;
  if (auto pinned = pinned_address(config, target.host, target.port)) {
    beast::error_code ec;
    auto address = net::ip::make_address(*pinned, ec);
    endpoints = tcp::resolver::results_type::create(tcp::endpoint(address, target.port), target.host,
                                                    std::to_string(target.port));
    result.timings.dns = 0;
  } else {
    tcp::resolver resolver(executor);
    auto [ec, found] = co_await resolver.async_resolve(target.host, std::to_string(target.port), use_nothrow);
    result.timings.dns = ms_between(started, steady_clock::now());
    if (ec) {
      fail(capture::phase::resolve, ec, "resolving " + target.host);
      co_return result;
    }
    endpoints = std::move(found);
  }

  auto connect_started = steady_clock::now();
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_after(config.connect_timeout);
  auto [connect_ec, endpoint] = co_await tcp_stream.async_connect(endpoints, use_nothrow);
  if (connect_ec) {
    result.timings.connect = ms_between(connect_started, steady_clock::now());
    fail(capture::phase::upstream_connect, connect_ec,
         "connecting to " + format_authority({target.host, target.port}));
    co_return result;
  }
  beast::error_code ignored;
  tcp_stream.socket().set_option(tcp::no_delay(true), ignored);
  auto server_ip = endpoint.address().to_string();

  if (target.scheme != "https") {
    result.timings.connect = ms_between(connect_started, steady_clock::now());
    result.connection = std::make_unique<upstream_connection>(
        upstream_connection{any_stream(std::move(tcp_stream)), beast::flat_buffer{}, id, server_ip, {}, {}});
    co_return result;
  }

  auto tls_started = steady_clock::now();
  any_stream::tls_stream tls_stream(std::move(tcp_stream), upstream_tls);
  // Without the host check, verification would accept any trusted certificate: refuse instead.
  if (!tls::prepare_upstream(tls_stream.native_handle(), target.host)) {
    fail(capture::phase::upstream_tls, capture::errc::upstream_unverified,
         "cannot verify the name \"" + target.host + "\" in a certificate: " + tls::drain_openssl_errors());
    co_return result;
  }
  beast::get_lowest_layer(tls_stream).expires_after(config.connect_timeout);
  auto [handshake_ec] = co_await tls_stream.async_handshake(net::ssl::stream_base::client, use_nothrow);
  auto now = steady_clock::now();
  result.timings.ssl = ms_between(tls_started, now);
  result.timings.connect = ms_between(connect_started, now);  // HAR: connect includes ssl
  auto summary = to_tls_leg(tls::describe(tls_stream.native_handle(), true));
  if (handshake_ec) {
    std::string detail = "TLS handshake with " + target.host;
    if (handshake_ec.category() == net::error::get_ssl_category()) {
      auto alert = tls::alert_from_error(static_cast<unsigned long>(handshake_ec.value()));
      if (!alert.empty()) detail += ": " + alert;
    }
    bool const old_version = handshake_ec.category() == net::error::get_ssl_category() &&
                             tls::is_protocol_version_error(static_cast<unsigned long>(handshake_ec.value()));
    if (old_version) {
      fail(capture::phase::upstream_tls, capture::errc::tls_version_too_low, detail);
    } else if (!summary.verify_error.empty() && summary.verify_error != "ok") {
      detail += ": certificate not trusted (" + summary.verify_error +
                "); add its CA with --upstream-ca FILE, or use --insecure-upstream";
      fail(capture::phase::upstream_tls, capture::errc::upstream_unverified, detail);
    } else {
      fail(capture::phase::upstream_tls, handshake_ec, detail);
    }
    result.failed_tls = std::move(summary);
    co_return result;
  }
  result.connection = std::make_unique<upstream_connection>(upstream_connection{
      any_stream(std::move(tls_stream)), beast::flat_buffer{}, id, server_ip, summary, {}});
  co_return result;
}

}  // namespace regtrace::proxy
