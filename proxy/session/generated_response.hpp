#pragma once
// The answers regtrace writes to the client itself instead of relaying one: its own error responses,
// 100 Continue, and the answer to a CONNECT it serves.

#include "capture/model/exchange.hpp"
#include "proxy/config/config.hpp"
#include "proxy/session/client_side.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::proxy {

/// regtrace's answer to a CONNECT it serves, intercepted or tunnelled (RFC 9110 §9.3.6).
inline constexpr std::string_view connect_established = "HTTP/1.1 200 Connection established\r\n\r\n";

/// Answers the client with regtrace's own response (400, 407, 431, 502, 504): a JSON body naming the
/// phase and the problem, recorded as a generated response. Closes the connection afterwards.
net::awaitable<void> respond_generated(client_side& client, capture::exchange& record, http::status status,
                                       std::string message, proxy_config const& config,
                                       std::vector<capture::header_field> extra_headers = {});

/// Takes back from record a generated answer the client did not receive (its write failed with ec):
/// no status, headers or body on the entry, and the failure says what regtrace meant to answer.
void record_undelivered(capture::exchange& record, beast::error_code const& ec);

/// The HTTP status that reports failure f to the client: 504 for timeouts, 502 otherwise.
http::status status_for_upstream_failure(bool timed_out);

/// True when the client waits for 100 Continue before it sends the body (RFC 9110 §10.1.1).
bool expects_continue(request_parser const& request);

/// Writes 100 Continue to the client: regtrace answers Expect itself (see relay_exchange).
net::awaitable<beast::error_code> send_continue(client_side& client, std::chrono::seconds idle);

}  // namespace regtrace::proxy
