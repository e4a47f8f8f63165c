#pragma once
// The per-connection coroutine (STYLE rule 2): one client connection, from its first request line
// to its close, owning its objects through by-value parameters.

#include "proxy/io/net.hpp"

#include <memory>

namespace regtrace::proxy {

struct proxy_context;

/// Serves one client connection: CONNECT (intercepted or tunnelled) or absolute-form plain HTTP.
/// Spawned on the io_context of worker `worker`, whose thread alone runs it; never throws.
net::awaitable<void> serve_client(tcp::socket socket, std::shared_ptr<proxy_context> context,
                                  std::size_t worker);

}  // namespace regtrace::proxy
