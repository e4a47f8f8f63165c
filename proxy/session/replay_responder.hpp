#pragma once
// Server replay (SPEC §6): one request answered from the recorded trace instead of the network.

#include "capture/model/exchange.hpp"
#include "proxy/session/client_side.hpp"
#include "proxy/session/proxy_context.hpp"

#include <span>

namespace regtrace::proxy {

/// Reads the request (body included), finds its recorded answer and sends it; a request the trace
/// cannot answer gets a registry-style 404 naming it. Never connects upstream. Returns true when the
/// client connection may carry another request.
net::awaitable<bool> replay_exchange(client_side& client, request_parser& request, capture::exchange& record,
                                     proxy_context& context, std::span<char> chunk);

}  // namespace regtrace::proxy
