#pragma once
// --upstream-proxy (SPEC §2): regtrace behind a corporate HTTP proxy. On customer machines the Docker
// daemon often reaches registries only through one, so regtrace must too. Pure functions, unit-tested;
// the CONNECT exchange itself is in proxy/upstream/connect.cpp, the one place that opens upstream
// connections.

#include "proxy/config/config.hpp"
#include "proxy/config/connect_target.hpp"

#include <string>
#include <string_view>

namespace regtrace::proxy {

/// Parses http://[USER:PASS@]HOST:PORT[/] (user and password percent-decoded). Throws
/// std::invalid_argument with a sentence that never repeats the password.
chained_proxy parse_upstream_proxy(std::string_view url);

/// "http://host:port", never the credentials (for the trace and the console); "" when none is set.
std::string display_url(chained_proxy const& proxy);

/// The CONNECT request for a tunnel to `to` (RFC 9110 §9.3.6): request line, Host, and
/// Proxy-Authorization: Basic when the proxy has credentials (RFC 7617).
std::string connect_request_text(authority const& to, chained_proxy const& proxy);

}  // namespace regtrace::proxy
