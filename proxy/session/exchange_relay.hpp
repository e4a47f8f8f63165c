#pragma once
// One exchange: a request whose header the client session has read, relayed to the upstream, and
// the response relayed back, recorded into a capture::exchange as it goes.

#include "capture/model/exchange.hpp"
#include "proxy/io/any_stream.hpp"
#include "proxy/session/proxy_context.hpp"
#include "proxy/upstream/connect.hpp"

#include <span>

namespace regtrace::proxy {

/// The client side of a connection: its stream (plain, or TLS after CONNECT) and read buffer.
struct client_side {
  any_stream stream;
  beast::flat_buffer buffer;
  std::uint64_t connection_id = 0;
  std::string address;                  ///< "127.0.0.1:51234"
  std::optional<capture::tls_leg> tls;  ///< after a CONNECT we terminated
  upstream_pool* pool = nullptr;        ///< the pool of this connection's worker
  /// False once an upstream cut a body short: the client then sees the cut too (no close_notify),
  /// as it would without the proxy.
  bool clean_end = true;
};

using request_parser = http::request_parser<http::buffer_body>;

/// regtrace's answer to a CONNECT it serves, intercepted or tunnelled (RFC 9110 §9.3.6).
inline constexpr std::string_view connect_established = "HTTP/1.1 200 Connection established\r\n\r\n";

/// A parser with regtrace's limits: bodies unbounded (they stream), headers bounded (431).
void apply_limits(request_parser& parser, proxy_config const& config);

/// Fills the request half of record from a parsed request header (headers as received, in order).
void record_request(capture::exchange& record, request_parser const& parser);

/// Relays one exchange to target. Returns true when the client connection may carry another request.
net::awaitable<bool> relay_exchange(client_side& client, request_parser& request, upstream_target target,
                                    capture::exchange& record, proxy_context& context, std::span<char> chunk);

/// Answers the client with regtrace's own response (400, 407, 431, 502, 504): a JSON body naming the
/// phase and the problem, recorded as a generated response. Closes the connection afterwards.
net::awaitable<void> respond_generated(client_side& client, capture::exchange& record, http::status status,
                                       std::string message, proxy_config const& config,
                                       std::vector<capture::header_field> extra_headers = {});

/// The HTTP status that reports failure f to the client: 504 for timeouts, 502 otherwise.
http::status status_for_upstream_failure(bool timed_out);

}  // namespace regtrace::proxy
