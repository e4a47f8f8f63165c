#pragma once
// Opening a listening socket, shared by the proxy's listener and the --metrics one; each says its
// own sentence when it fails.

#include "proxy/io/net.hpp"

namespace regtrace::proxy {

/// Opens, binds (address reuse on) and listens on endpoint; the first error, or none.
beast::error_code open_listener(tcp::acceptor& acceptor, tcp::endpoint const& endpoint);

}  // namespace regtrace::proxy
