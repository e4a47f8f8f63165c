#pragma once
// One exchange: a request whose header the client session has read, relayed to the upstream, and
// the response relayed back, recorded into a capture::exchange as it goes.

#include "capture/model/exchange.hpp"
#include "proxy/session/client_side.hpp"
#include "proxy/session/proxy_context.hpp"
#include "proxy/upstream/connection.hpp"

namespace regtrace::proxy {

/// A parser with regtrace's limits: bodies unbounded (they stream), headers bounded (431).
void apply_limits(request_parser& parser, proxy_config const& config);

/// Fills the request half of record from a parsed request header (headers as received, in order).
void record_request(capture::exchange& record, request_parser const& parser);

/// Relays one exchange to target. Returns true when the client connection may carry another request.
/// Each body is relayed in a chunk of its own, no bigger than the body (up to relay_chunk_bytes).
net::awaitable<bool> relay_exchange(client_side& client, request_parser& request, upstream_target target,
                                    capture::exchange& record, proxy_context& context);

}  // namespace regtrace::proxy
