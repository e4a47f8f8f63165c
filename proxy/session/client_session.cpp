#include "proxy/session/client_session.hpp"

#include "capture/text/url.hpp"
#include "proxy/config/connect_target.hpp"
#include "proxy/config/host_rules.hpp"
#include "proxy/io/idle_watch.hpp"
#include "proxy/session/exchange_relay.hpp"
#include "proxy/session/generated_response.hpp"
#include "proxy/session/interruption.hpp"
#include "proxy/session/proxy_context.hpp"
#include "proxy/session/replay_responder.hpp"
#include "proxy/session/tunnel.hpp"
#include "proxy/upstream/connect.hpp"
#include "tls/contexts.hpp"

#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <memory>

namespace regtrace::proxy {
namespace {

// GCC 12 cannot carry braced lists of string literals across co_await: keep them in named objects.
std::vector<capture::header_field> proxy_auth_challenge() {
  return {{"Proxy-Authenticate", "Basic realm=\"regtrace\""}};
}

// The record of the next request; inside a terminated CONNECT, its destination is the host.
capture::exchange new_record(client_side const& client, std::uint64_t index,
                             std::optional<authority> const& tunnel) {
  capture::exchange record;
  record.connection_id = client.connection_id;
  record.request_index = index;
  record.started = std::chrono::system_clock::now();
  record.client_address = client.address;
  record.client_tls = client.tls;
  if (tunnel) {
    record.host = tunnel->host;
    record.port = tunnel->port;
  }
  return record;
}

// A few printable bytes of what the client sent, for the entry of a request we could not parse.
std::string excerpt(beast::flat_buffer const& buffer) {
  auto data = buffer.data();
  std::string_view text(static_cast<char const*>(data.data()), std::min<std::size_t>(data.size(), 120));
  std::string out;
  for (char c : text) out += (c >= 0x20 && c < 0x7f) ? c : '.';
  return out;
}

// The first bytes the client sent, in hex ("16 03 01 02 00"): what a TLS ClientHello or any other
// non-HTTP start looks like, which the printable excerpt cannot show.
std::string hex_prefix(beast::flat_buffer const& buffer) {
  static constexpr char digits[] = "0123456789abcdef";
  auto const data = buffer.data();
  auto const* bytes = static_cast<unsigned char const*>(data.data());
  std::string out;
  for (std::size_t i = 0; i < std::min<std::size_t>(data.size(), 32); ++i) {
    if (i) out += ' ';
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

// A TLS record of the handshake type (RFC 8446 §5.1: 0x16, then the legacy version 0x03 0x0X): a client
// that set HTTPS_PROXY=https://… speaks TLS to the plain-HTTP proxy port (catalog A-01).
bool starts_tls_handshake(beast::flat_buffer const& buffer) {
  auto const data = buffer.data();
  auto const* bytes = static_cast<unsigned char const*>(data.data());
  return data.size() >= 2 && bytes[0] == 0x16 && bytes[1] == 0x03;
}

bool is_quiet_close(beast::error_code const& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::ssl::error::stream_truncated || ended_by_regtrace(ec);
}

// The entry of a request whose head was still arriving when it was cut short: the client closed, or
// regtrace stopped. Nobody is answered: the client is gone, or regtrace is.
void record_unfinished_request(client_side const& client, request_parser const& parser, capture::exchange& record,
                               proxy_context& context, bool client_closed) {
  record.method = parser.get().method_string().empty() ? "-" : std::string(parser.get().method_string());
  record.target = std::string(parser.get().target());
  record.scheme = client.tls ? "https" : "http";
  if (record.host.empty()) record.host = context.config.listen_host;
  if (!client.tls) record.port = context.config.listen_port;
  record.unparsed_hex = hex_prefix(client.buffer);
  auto const where = client.tls ? capture::phase::request_relay : capture::phase::connect_request;
  auto const received = "; received: \"" + excerpt(client.buffer) + "\"";
  record.failure =
      client_closed
          ? capture::make_failure(where, capture::errc::client_abandoned,
                                  "the client closed the connection before its request header was complete" + received,
                                  capture::failing_peer::client)
          : capture::make_failure(where, capture::errc::proxy_stopped,
                                  "regtrace was stopped while the request header was arriving" + received);
  context.sink->submit(std::move(record));
}

// Reads the next request header. A client closing or idling between requests is keep-alive as usual
// and ends the connection quietly; anything malformed is answered (400/408/431) and recorded.
net::awaitable<bool> read_request_head(client_side& client, request_parser& parser, capture::exchange& record,
                                       proxy_context& context) {
  apply_limits(parser, context.config);
  // The whole head within the idle timeout (a slowloris trickles bytes), kept by a watch that cancels
  // the read rather than by tcp_stream's deadline, which closes the socket: the client could not be
  // told 408 (issue 13).
  auto const deadline = start_idle_watch(client.stream.tcp(), client.stream.tcp(), context.config.idle_timeout);
  ++context.idle_connections;  // a stop need not wait for a connection between requests
  auto [ec, n] = co_await http::async_read_header(client.stream, client.buffer, parser, use_nothrow);
  --context.idle_connections;
  stop_idle_watch(*deadline);
  if (deadline->fired && ec == net::error::operation_aborted && !context.stopping) ec = beast::error::timeout;
  // HAR startedDateTime is when the request started, not when a kept-alive connection began to wait
  // for it: sequence rules order requests of different connections by it.
  record.started = std::chrono::system_clock::now();
  if (!ec) co_return true;
  bool const nothing_read = client.buffer.size() == 0 && !parser.got_some();
  // A request half received when the client closes or regtrace stops is in flight too (SPEC §4): an
  // incomplete entry. Answering it would record a 400 that nobody read.
  bool const client_closed = ec == http::error::partial_message || (is_quiet_close(ec) && !ended_by_regtrace(ec));
  if (!nothing_read && (client_closed || (context.stopping && ended_by_regtrace(ec)))) {
    record_unfinished_request(client, parser, record, context, client_closed);
    co_return false;
  }
  if (is_quiet_close(ec) || (ec == beast::error::timeout && nothing_read)) co_return false;

  auto status = http::status::bad_request;
  std::string sentence = "regtrace could not parse the request: " + ec.message();
  auto code = beast::error_code(capture::errc::malformed_request);
  if (ec == http::error::header_limit) {
    status = http::status::request_header_fields_too_large;
    code = capture::errc::header_too_large;
    sentence =
        "the request header is larger than " + std::to_string(context.config.header_limit_bytes) + " bytes";
  } else if (ec == beast::error::timeout) {
    status = http::status::request_timeout;
    code = capture::errc::client_timeout;
    sentence = "the client stopped sending the request header";
  } else if (!client.tls && starts_tls_handshake(client.buffer)) {
    code = capture::errc::tls_to_proxy_port;
    sentence = "the client began a TLS handshake on regtrace's plain-HTTP port; use an http:// proxy URL "
               "(HTTPS_PROXY=http://HOST:PORT): the tunnel still carries TLS to the registry";
  }
  record.unparsed_hex = hex_prefix(client.buffer);
  record.method = parser.get().method_string().empty() ? "-" : std::string(parser.get().method_string());
  record.target = std::string(parser.get().target());
  record.scheme = client.tls ? "https" : "http";
  if (record.host.empty()) record.host = context.config.listen_host;
  if (!client.tls) record.port = context.config.listen_port;
  auto where = client.tls ? capture::phase::request_relay : capture::phase::connect_request;
  // A header that stopped arriving was the client's doing (issue 13: a slowloris is the slow peer).
  bool const timed_out = ec == beast::error::timeout;
  record.failure = capture::make_failure(
      where, code, (timed_out ? sentence : ec.message()) + "; received: \"" + excerpt(client.buffer) + "\"",
      timed_out ? capture::failing_peer::client : capture::failing_peer::unknown);
  co_await respond_generated(client, record, status, sentence, context.config);
  context.sink->submit(std::move(record));
  co_return false;
}

// Where a CONNECT target regtrace refused points, for the entry's URL: its host and port where a URL can
// carry them (the raw target stays in the failure's detail), else regtrace's own address. So that
// "CONNECT registry.test" becomes https://registry.test/, not a URL no reader accepts.
authority refused_target(std::string_view requested, proxy_config const& config) {
  auto const parts = capture::split_host_port(requested);
  bool const usable = parts && !parts->host.empty() &&
                      (parts->bracketed ? is_ip_literal(parts->host) : parts->host.find(':') == std::string_view::npos);
  if (!usable) return {config.listen_host, config.listen_port};
  auto const port = parts->port ? capture::parse_port_number(*parts->port) : std::nullopt;
  return {std::string(parts->host), port && *port != 0 ? *port : std::uint16_t{443}};
}

// The CONNECT's destination, when it names one and the proxy credentials match (--proxy-auth);
// otherwise the client is answered (400, 407), the record submitted, and nullopt returned.
net::awaitable<std::optional<authority>> connect_destination(client_side& client, request_parser& parser,
                                                             capture::exchange& record,
                                                             proxy_context& context) {
  auto const& config = context.config;
  std::string requested(parser.get().target());
  auto destination = parse_connect_authority(requested);
  if (!destination) {
    auto const named = refused_target(requested, config);
    record.scheme = "https";
    record.host = named.host;
    record.port = named.port;
    record.failure = capture::make_failure(capture::phase::connect_request, capture::errc::bad_connect_target,
                                           "CONNECT " + requested);
    co_await respond_generated(client, record, http::status::bad_request,
                               "CONNECT needs host:port, got \"" + requested + "\"", config);
    context.sink->submit(std::move(record));
    co_return std::nullopt;
  }
  record.host = destination->host;
  record.port = destination->port;
  if (!proxy_auth_matches(config, parser.get()[http::field::proxy_authorization])) {
    record.failure = capture::make_failure(capture::phase::connect_request,
                                           capture::errc::proxy_auth_required, "CONNECT " + requested);
    co_await respond_generated(client, record, http::status::proxy_authentication_required,
                               "regtrace requires proxy credentials (--proxy-auth)", config,
                               proxy_auth_challenge());
    context.sink->submit(std::move(record));
    co_return std::nullopt;
  }
  co_return destination;
}

// A client that does not trust regtrace's CA says so with an alert (catalog A-03): an entry, not a loss.
void record_client_handshake_failure(capture::exchange& record, capture::tls_leg leg, std::string const& host,
                                     beast::error_code const& handshake_ec) {
  record.kind = capture::entry_kind::client_tls_rejected;
  record.client_tls = std::move(leg);
  std::string detail = "TLS handshake with the client for " + host;
  auto code = beast::error_code(capture::errc::client_tls_failed);
  if (handshake_ec.category() == net::error::get_ssl_category()) {
    auto openssl_error = static_cast<unsigned long>(handshake_ec.value());
    if (tls::is_alert_received(openssl_error)) code = capture::errc::client_rejected_certificate;
    if (tls::is_protocol_version_error(openssl_error)) code = capture::errc::tls_version_too_low;
    if (auto alert = tls::alert_from_error(openssl_error); !alert.empty()) detail += ": " + alert;
  } else if (handshake_ec == beast::error::timeout) {
    code = capture::errc::client_timeout;  // catalog A-06: the handshake never completed
  }
  detail += " (" + handshake_ec.message() + ")";
  record.failure = capture::make_failure(capture::phase::client_tls, code, detail);
}

// Intercepts a CONNECT: answers 200 and terminates the client's TLS with a leaf minted for the
// destination. False when that failed (recorded and submitted, unless the client was already gone).
net::awaitable<bool> terminate_tls(client_side& client, authority const& destination,
                                   capture::exchange& record, proxy_context& context) {
  auto const& config = context.config;
  auto identity = context.certificates->identity_for(destination.host);
  if (!identity) {
    record.failure = capture::make_failure(capture::phase::client_tls, capture::errc::client_tls_failed,
                                           identity.error().message);
    co_await respond_generated(client, record, http::status::bad_gateway, identity.error().message, config);
    context.sink->submit(std::move(record));
    co_return false;
  }

  client.stream.tcp().expires_after(config.idle_timeout);
  auto [write_ec, written] =
      co_await net::async_write(client.stream.tcp(), net::buffer(connect_established), use_nothrow);
  if (write_ec) co_return false;

  any_stream::tls_stream tls_stream(std::move(client.stream.tcp()), context.client_tls);
  if (!tls::use_identity(tls_stream.native_handle(), **identity)) {
    record.failure = capture::make_failure(
        capture::phase::client_tls, capture::errc::client_tls_failed,
        "could not use the certificate minted for " + destination.host + ": " + tls::drain_openssl_errors());
    context.sink->submit(std::move(record));
    co_return false;
  }
  beast::get_lowest_layer(tls_stream).expires_after(config.idle_timeout);
  hooked handshaking(&client.waiting_on, beast::get_lowest_layer(tls_stream));  // the socket left client.stream
  // Bytes already read behind the CONNECT are the start of the ClientHello.
  auto [handshake_ec, used] =
      co_await tls_stream.async_handshake(net::ssl::stream_base::server, client.buffer.data(), use_nothrow);
  auto leg = to_tls_leg(tls::describe(tls_stream.native_handle(), false));
  if (handshake_ec) {
    if (context.stopping && ended_by_regtrace(handshake_ec)) {
      record.client_tls = std::move(leg);
      record.failure = capture::make_failure(capture::phase::client_tls, capture::errc::proxy_stopped,
                                             "regtrace was stopped during the TLS handshake with the client for " +
                                                 destination.host);
    } else {
      record_client_handshake_failure(record, std::move(leg), destination.host, handshake_ec);
    }
    context.sink->submit(std::move(record));
    co_return false;
  }
  client.buffer.consume(used);
  client.stream.become_tls(std::move(tls_stream));
  client.tls = leg;
  co_return true;
}

// CONNECT: answered 200 and then either tunnelled (passthrough) or TLS-terminated with a minted
// leaf. Returns the destination whose requests follow on this connection, or nullopt when done.
net::awaitable<std::optional<authority>> handle_connect(client_side& client, request_parser& parser,
                                                        capture::exchange& record, proxy_context& context) {
  record.kind = capture::entry_kind::connect_failed;
  record.target.clear();
  auto destination = co_await connect_destination(client, parser, record, context);
  if (!destination) co_return std::nullopt;
  if (!should_intercept(context.config, destination->host)) {
    co_await run_tunnel(client, *destination, record, context);
    co_return std::nullopt;
  }
  if (!co_await terminate_tls(client, *destination, record, context)) co_return std::nullopt;
  co_return destination;
}

// Where a request goes, by its request-target: inside a terminated CONNECT, to the CONNECT's
// destination; absolute-form (plain HTTP through a proxy), to its URL once the proxy credentials
// match; origin-form is refused, regtrace being a proxy. nullopt: answered and submitted, the
// connection ends.
net::awaitable<std::optional<upstream_target>> route_request(client_side& client, request_parser& parser,
                                                             capture::exchange& record,
                                                             std::optional<authority> const& tunnel,
                                                             proxy_context& context) {
  auto const& config = context.config;
  if (tunnel) {
    record.scheme = "https";
    co_return upstream_target{"https", tunnel->host, tunnel->port};
  }
  if (auto absolute = parse_absolute_target(parser.get().target())) {
    record.scheme = absolute->scheme;
    record.host = absolute->destination.host;
    record.port = absolute->destination.port;
    record.target = absolute->origin_form;
    if (!proxy_auth_matches(config, parser.get()[http::field::proxy_authorization])) {
      record.failure =
          capture::make_failure(capture::phase::connect_request, capture::errc::proxy_auth_required,
                                record.method + " " + record.url());
      co_await respond_generated(client, record, http::status::proxy_authentication_required,
                                 "regtrace requires proxy credentials (--proxy-auth)", config,
                                 proxy_auth_challenge());
      context.sink->submit(std::move(record));
      co_return std::nullopt;
    }
    parser.get().target(absolute->origin_form);
    co_return upstream_target{absolute->scheme, absolute->destination.host, absolute->destination.port};
  }
  record.scheme = "http";
  record.host = config.listen_host;
  record.port = config.listen_port;
  record.failure = capture::make_failure(capture::phase::connect_request, capture::errc::malformed_request,
                                         "origin-form request sent to the proxy");
  co_await respond_generated(
      client, record, http::status::bad_request,
      "regtrace is a proxy: send CONNECT host:port for HTTPS, or an absolute URL for HTTP", config);
  context.sink->submit(std::move(record));
  co_return std::nullopt;
}

client_side open_client_side(tcp::socket socket, proxy_context& context, std::size_t worker) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto remote = socket.remote_endpoint(ec);
  return client_side(any_stream(beast::tcp_stream(std::move(socket))), context.next_connection_id.fetch_add(1) + 1,
                     ec ? std::string{} : remote.address().to_string() + ":" + std::to_string(remote.port()),
                     context.pools[worker].get());
}

// TLS ends with close_notify: it is how a close-delimited body's end reaches the client intact. Not when
// regtrace is stopping: the socket is closed already, and the stop waits for every connection.
net::awaitable<void> close_client_side(client_side& client, proxy_context const& context) {
  if (auto* tls_stream = client.stream.tls(); tls_stream && client.clean_end && !context.stopping) {
    client.stream.tcp().expires_after(std::chrono::seconds(2));
    co_await tls_stream->async_shutdown(use_nothrow);
  }
  beast::error_code ignored;
  client.stream.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  client.stream.tcp().socket().close(ignored);
}

// A replayed exchange, with a chunk for its body that lives as long as the exchange: a kept-alive
// connection waiting for its next request holds none (issue 13: 500 idle connections held 32 MiB of
// chunks when each kept one for its life). Uninitialised: the responder fills it.
net::awaitable<bool> replay_with_chunk(client_side& client, request_parser& parser, capture::exchange& record,
                                       proxy_context& context) {
  auto const bytes = context.config.relay_chunk_bytes;
  auto chunk = std::make_unique_for_overwrite<char[]>(bytes);
  co_return co_await replay_exchange(client, parser, record, context, {chunk.get(), bytes});
}

}  // namespace

net::awaitable<void> serve_client(tcp::socket socket, std::shared_ptr<proxy_context> context,
                                  std::size_t worker) {
  auto& ctx = *context;
  ++ctx.open_connections;
  auto client = open_client_side(std::move(socket), ctx, worker);
  auto& watch = *ctx.watches[worker];
  watch.add(client);
  std::optional<authority> tunnel;  // set once a CONNECT was terminated here

  for (std::uint64_t index = 1;; ++index) {
    request_parser parser;
    auto record = new_record(client, index, tunnel);
    if (!co_await read_request_head(client, parser, record, ctx)) break;
    record_request(record, parser);

    if (!tunnel && parser.get().method() == http::verb::connect) {
      tunnel = co_await handle_connect(client, parser, record, ctx);
      if (!tunnel) break;
      --index;  // the CONNECT itself is not an exchange; the first request inside is r1
      continue;
    }
    auto target = co_await route_request(client, parser, record, tunnel, ctx);
    if (!target) break;
    bool again = false;
    if (ctx.replay)
      again = co_await replay_with_chunk(client, parser, record, ctx);
    else
      again = co_await relay_exchange(client, parser, *target, record, ctx);
    ctx.sink->submit(std::move(record));
    if (!again) break;
    // What the next request head needs is a few hundred bytes; a bigger buffer left by this exchange
    // goes while the connection waits (kept when the client already sent more: a pipelined request).
    if (client.buffer.size() == 0) client.buffer.shrink_to_fit();
  }
  co_await close_client_side(client, ctx);
  watch.remove(client);
  --ctx.open_connections;
}

}  // namespace regtrace::proxy
