#include "proxy/upstream/upstream.hpp"

#include "proxy/config/connect_target.hpp"
#include "proxy/config/host_rules.hpp"
#include "proxy/io/http_fields.hpp"
#include "proxy/io/timing.hpp"
#include "proxy/config/upstream_proxy.hpp"
#include "tls/contexts.hpp"

#include <boost/asio/write.hpp>

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

namespace {

// Resolve: --resolve pins win, as in curl, so tests and node pinning never touch DNS.
net::awaitable<std::pair<beast::error_code, tcp::resolver::results_type>> resolve(
    authority where, proxy_config const& config) {
  if (auto pinned = pinned_address(config, where.host, where.port)) {
    beast::error_code ec;
    auto address = net::ip::make_address(*pinned, ec);
    co_return std::pair{ec, tcp::resolver::results_type::create(tcp::endpoint(address, where.port),
                                                                where.host, std::to_string(where.port))};
  }
  tcp::resolver resolver(co_await net::this_coro::executor);
  auto [ec, found] = co_await resolver.async_resolve(where.host, std::to_string(where.port), use_nothrow);
  co_return std::pair{ec, std::move(found)};
}

// A CONNECT answer is read no further than its header (a 2xx has no body, RFC 9110 §9.3.6; a refusal's
// body is not needed), and the header only up to this size: everything a peer sends is bounded.
constexpr std::size_t proxy_answer_limit = 8 * 1024;

struct tunnel_answer {
  beast::error_code ec;
  std::string status_line;  ///< "HTTP/1.1 407 Proxy Authentication Required", when one was read
};

// Asks the upstream proxy on `stream` for a tunnel. Bytes read past the answer's header belong to the
// tunnel and are left in `buffer`.
net::awaitable<tunnel_answer> request_tunnel(beast::tcp_stream& stream, std::string request,
                                             beast::flat_buffer& buffer) {
  auto [write_ec, written] = co_await net::async_write(stream, net::buffer(request), use_nothrow);
  if (write_ec) co_return tunnel_answer{write_ec, {}};
  http::response_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(proxy_answer_limit));
  parser.skip(true);  // header only, whatever Content-Length says (no body limit applies either)
  auto [read_ec, read] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
  if (read_ec) co_return tunnel_answer{read_ec, {}};
  auto const& answer = parser.get();
  // The reason phrase may hold any byte (RFC 9112 §4: obs-text); it goes into JSON and onto the console.
  std::string reason(answer.reason());
  for (char& c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  tunnel_answer out{
      {}, version_text(answer.version()) + " " + std::to_string(answer.result_int()) + " " + reason};
  if (answer.result_int() / 100 != 2) out.ec = capture::errc::upstream_proxy_refused;
  co_return out;
}

}  // namespace

bool record_connection_attempt(capture::exchange& x, connect_result& opened) {
  x.timings.dns = opened.timings.dns;
  x.timings.connect = opened.timings.connect;
  x.timings.ssl = opened.timings.ssl;
  if (!opened.failure) return true;
  x.failure = std::move(opened.failure);
  x.upstream_tls = std::move(opened.failed_tls);
  x.server_ip = opened.server_ip;
  return false;
}

net::awaitable<connect_result> open_upstream(upstream_target target, proxy_config const& config,
                                             net::ssl::context& upstream_tls, std::uint64_t id) {
  connect_result result;
  auto executor = co_await net::this_coro::executor;
  auto fail = [&](capture::phase where, beast::error_code ec, std::string detail) {
    result.failure = capture::make_failure(where, ec, std::move(detail));
    result.timed_out = ec == beast::error::timeout;
  };
  // Through --upstream-proxy, regtrace connects to the proxy, and the proxy to the target.
  auto const& proxy = config.upstream_proxy;
  authority const destination{target.host, target.port};
  authority const dial = proxy.enabled() ? authority{proxy.host, proxy.port} : destination;
  std::string const dial_name = proxy.enabled() ? "the upstream proxy " + display_url(proxy) + " (for " +
                                                      format_authority(destination) + ")"
                                                : format_authority(destination);

  auto started = steady_clock::now();
  auto [resolve_ec, endpoints] = co_await resolve(dial, config);
  result.timings.dns =
      pinned_address(config, dial.host, dial.port) ? 0 : ms_between(started, steady_clock::now());
  if (resolve_ec) {
    fail(capture::phase::resolve, resolve_ec, "resolving " + (proxy.enabled() ? dial_name : target.host));
    co_return result;
  }

  auto connect_started = steady_clock::now();
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_after(config.connect_timeout);
  auto [connect_ec, endpoint] = co_await tcp_stream.async_connect(endpoints, use_nothrow);
  if (connect_ec) {
    result.timings.connect = ms_between(connect_started, steady_clock::now());
    fail(capture::phase::upstream_connect, connect_ec, "connecting to " + dial_name);
    co_return result;
  }
  beast::error_code ignored;
  tcp_stream.socket().set_option(tcp::no_delay(true), ignored);
  auto server_ip = endpoint.address().to_string();
  result.server_ip = server_ip;

  // The tunnel is the connection: it is pooled, reused and recorded exactly like a direct one. A pinned
  // host is CONNECTed by its address (node pinning, tests); any other by name, for the proxy to resolve.
  beast::flat_buffer tunnel_bytes(proxy_answer_limit);
  if (proxy.enabled()) {
    auto pinned = pinned_address(config, target.host, target.port);
    authority const tunnel_to{pinned.value_or(target.host), target.port};
    auto request = connect_request_text(tunnel_to, proxy);  // named: GCC 12 and co_await temporaries
    tcp_stream.expires_after(config.connect_timeout);
    auto answer = co_await request_tunnel(tcp_stream, std::move(request), tunnel_bytes);
    if (answer.ec) {
      result.timings.connect = ms_between(connect_started, steady_clock::now());
      std::string const asked = "CONNECT " + format_authority(tunnel_to);
      fail(capture::phase::upstream_connect, answer.ec,
           answer.status_line.empty()
               ? "no usable answer to " + asked + " from the upstream proxy " + display_url(proxy)
               : "the upstream proxy " + display_url(proxy) + " answered " + asked + " with " +
                     answer.status_line);
      co_return result;
    }
  }

  if (target.scheme != "https") {
    result.timings.connect = ms_between(connect_started, steady_clock::now());
    result.connection = std::make_unique<upstream_connection>(
        upstream_connection{any_stream(std::move(tcp_stream)), beast::flat_buffer{}, id, server_ip, {}, {}});
    // What the target sent right behind the proxy's answer is the start of the upstream's bytes.
    auto& buffer = result.connection->buffer;
    buffer.commit(net::buffer_copy(buffer.prepare(tunnel_bytes.size()), tunnel_bytes.data()));
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
  auto [handshake_ec, used] =
      co_await tls_stream.async_handshake(net::ssl::stream_base::client, tunnel_bytes.data(), use_nothrow);
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
