#include "proxy/upstream/connect.hpp"

#include "proxy/config/connect_target.hpp"
#include "proxy/config/host_rules.hpp"
#include "proxy/config/upstream_proxy.hpp"
#include "proxy/io/http_fields.hpp"
#include "proxy/io/timing.hpp"
#include "proxy/upstream/handshake_failure.hpp"

#include <boost/asio/write.hpp>

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

namespace {

// Resolve: --resolve pins win, as in curl, so tests and node pinning never touch DNS.
net::awaitable<std::pair<beast::error_code, tcp::resolver::results_type>> resolve(
    authority where, proxy_config const& config, cancel_hook* hook) {
  if (auto pinned = pinned_address(config, where.host, where.port)) {
    beast::error_code ec;
    auto address = net::ip::make_address(*pinned, ec);
    co_return std::pair{ec, tcp::resolver::results_type::create(tcp::endpoint(address, where.port),
                                                                where.host, std::to_string(where.port))};
  }
  tcp::resolver resolver(co_await net::this_coro::executor);
  hooked waiting(hook, resolver);
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

// One connection being opened: what its steps share, and the result they fill in. Lives in
// open_upstream's frame; the steps are awaited directly, so they take it by reference.
struct opening {
  upstream_target const& target;
  proxy_config const& config;
  std::uint64_t id = 0;
  cancel_hook* hook = nullptr;
  connect_result result{};
  steady_clock::time_point connect_started{};

  void fail(capture::phase where, beast::error_code ec, std::string detail) {
    result.failure = capture::make_failure(where, ec, std::move(detail));
    result.timed_out = ec == beast::error::timeout;
  }
  // HAR connect runs from the TCP connect to the end of the last step (the TLS handshake included).
  void end_connect(steady_clock::time_point now = steady_clock::now()) {
    result.timings.connect = ms_between(connect_started, now);
  }
};

// The peer regtrace dials as failures name it: the target, or the upstream proxy for it.
std::string dial_name(authority const& destination, chained_proxy const& proxy) {
  if (!proxy.enabled()) return format_authority(destination);
  return "the upstream proxy " + display_url(proxy) + " (for " + format_authority(destination) + ")";
}

net::awaitable<bool> connect_tcp(opening& o, beast::tcp_stream& stream, tcp::resolver::results_type endpoints,
                                 std::string const& dialled) {
  o.connect_started = steady_clock::now();
  hooked waiting(o.hook, stream);
  stream.expires_after(o.config.connect_timeout);
  auto [ec, endpoint] = co_await stream.async_connect(endpoints, use_nothrow);
  if (ec) {
    o.end_connect();
    o.fail(capture::phase::upstream_connect, ec, "connecting to " + dialled);
    co_return false;
  }
  beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  o.result.server_ip = endpoint.address().to_string();
  co_return true;
}

// The tunnel through --upstream-proxy is the connection: it is pooled, reused and recorded exactly like
// a direct one. A pinned host is CONNECTed by its address (node pinning, tests); any other by name, for
// the proxy to resolve.
net::awaitable<bool> connect_through_proxy(opening& o, beast::tcp_stream& stream,
                                           beast::flat_buffer& tunnel_bytes) {
  auto const& proxy = o.config.upstream_proxy;
  auto pinned = pinned_address(o.config, o.target.host, o.target.port);
  authority const tunnel_to{pinned.value_or(o.target.host), o.target.port};
  auto request = connect_request_text(tunnel_to, proxy);  // named: GCC 12 and co_await temporaries
  hooked waiting(o.hook, stream);
  stream.expires_after(o.config.connect_timeout);
  auto answer = co_await request_tunnel(stream, std::move(request), tunnel_bytes);
  if (!answer.ec) co_return true;
  o.end_connect();
  std::string const asked = "CONNECT " + format_authority(tunnel_to);
  o.fail(capture::phase::upstream_connect, answer.ec,
         answer.status_line.empty()
             ? "no usable answer to " + asked + " from the upstream proxy " + display_url(proxy)
             : "the upstream proxy " + display_url(proxy) + " answered " + asked + " with " +
                   answer.status_line);
  co_return false;
}

// Plain HTTP: the TCP connection (or the tunnel) is the upstream connection.
void use_plain(opening& o, beast::tcp_stream& stream, beast::flat_buffer const& tunnel_bytes) {
  o.end_connect();
  o.result.connection = std::make_unique<upstream_connection>(upstream_connection{
      any_stream(std::move(stream)), beast::flat_buffer{}, o.id, o.result.server_ip, {}, {}});
  // What the target sent right behind the proxy's answer is the start of the upstream's bytes.
  auto& buffer = o.result.connection->buffer;
  buffer.commit(net::buffer_copy(buffer.prepare(tunnel_bytes.size()), tunnel_bytes.data()));
}

net::awaitable<void> handshake_tls(opening& o, beast::tcp_stream& tcp_stream,
                                   beast::flat_buffer const& tunnel_bytes, net::ssl::context& upstream_tls) {
  auto tls_started = steady_clock::now();
  any_stream::tls_stream tls_stream(std::move(tcp_stream), upstream_tls);
  // Without the host check, verification would accept any trusted certificate: refuse instead.
  if (!tls::prepare_upstream(tls_stream.native_handle(), o.target.host)) {
    o.fail(
        capture::phase::upstream_tls, capture::errc::upstream_unverified,
        "cannot verify the name \"" + o.target.host + "\" in a certificate: " + tls::drain_openssl_errors());
    co_return;
  }
  hooked waiting(o.hook, beast::get_lowest_layer(tls_stream));
  beast::get_lowest_layer(tls_stream).expires_after(o.config.connect_timeout);
  // Bytes the target sent right behind the proxy's answer are the start of its handshake.
  auto [handshake_ec, used] =
      co_await tls_stream.async_handshake(net::ssl::stream_base::client, tunnel_bytes.data(), use_nothrow);
  auto now = steady_clock::now();
  o.result.timings.ssl = ms_between(tls_started, now);
  o.end_connect(now);  // HAR: connect includes ssl
  auto summary = to_tls_leg(tls::describe(tls_stream.native_handle(), true));
  if (handshake_ec) {
    auto failed = classify_handshake_failure(o.target.host, handshake_ec, summary.verify_error,
                                             tls_stream.peer_spoke_plain_http());
    o.fail(capture::phase::upstream_tls, failed.code, std::move(failed.detail));
    o.result.failed_tls = std::move(summary);
    co_return;
  }
  o.result.connection = std::make_unique<upstream_connection>(upstream_connection{
      any_stream(std::move(tls_stream)), beast::flat_buffer{}, o.id, o.result.server_ip, summary, {}});
}

}  // namespace

net::awaitable<connect_result> open_upstream(upstream_target target, proxy_config const& config,
                                             net::ssl::context& upstream_tls, std::uint64_t id,
                                             cancel_hook* hook) {
  opening o{target, config, id, hook};
  // Through --upstream-proxy, regtrace connects to the proxy, and the proxy to the target.
  auto const& proxy = config.upstream_proxy;
  authority const destination{target.host, target.port};
  authority const dial = proxy.enabled() ? authority{proxy.host, proxy.port} : destination;
  std::string const dialled = dial_name(destination, proxy);

  auto started = steady_clock::now();
  auto [resolve_ec, endpoints] = co_await resolve(dial, config, hook);
  o.result.timings.dns =
      pinned_address(config, dial.host, dial.port) ? 0 : ms_between(started, steady_clock::now());
  if (resolve_ec) {
    o.fail(capture::phase::resolve, resolve_ec, "resolving " + (proxy.enabled() ? dialled : target.host));
    co_return std::move(o.result);
  }
  beast::tcp_stream tcp_stream(co_await net::this_coro::executor);
  if (!co_await connect_tcp(o, tcp_stream, std::move(endpoints), dialled)) co_return std::move(o.result);
  beast::flat_buffer tunnel_bytes(proxy_answer_limit);
  if (proxy.enabled() && !co_await connect_through_proxy(o, tcp_stream, tunnel_bytes))
    co_return std::move(o.result);
  if (target.scheme != "https")
    use_plain(o, tcp_stream, tunnel_bytes);
  else
    co_await handshake_tls(o, tcp_stream, tunnel_bytes, upstream_tls);
  co_return std::move(o.result);
}

}  // namespace regtrace::proxy
