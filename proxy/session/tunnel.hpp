#pragma once
// Passthrough tunnels (--passthrough, --intercept): bytes copied untouched both ways, recorded as one
// CONNECT entry with the byte counts (SPEC §2, §3).

#include "capture/model/exchange.hpp"
#include "proxy/config/connect_target.hpp"
#include "proxy/session/client_side.hpp"
#include "proxy/session/proxy_context.hpp"

namespace regtrace::proxy {

/// Connects to destination, answers the CONNECT and copies bytes until both sides are done or the
/// tunnel has been idle for the idle timeout. Submits record (kind tunnel or connect_failed).
net::awaitable<void> run_tunnel(client_side& client, authority destination, capture::exchange& record,
                                proxy_context& context);

}  // namespace regtrace::proxy
