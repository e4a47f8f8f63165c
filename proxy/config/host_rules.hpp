#pragma once
// Which hosts are intercepted, and where names resolve (--intercept, --passthrough, --resolve).
// Pure functions over the configuration, unit-tested.

#include "proxy/config/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace regtrace::proxy {

/// Parses curl's HOST:PORT:ADDR (ADDR may be a bracketed IPv6 literal). nullopt when malformed.
std::optional<resolve_rule> parse_resolve_rule(std::string_view text);

/// The address --resolve pins host:port to, if any (host compared case-insensitively).
std::optional<std::string> pinned_address(proxy_config const& config, std::string_view host,
                                          std::uint16_t port);

/// True when CONNECT host should be intercepted (TLS terminated and recorded) rather than tunnelled.
/// --passthrough globs win; with --intercept globs only matching hosts are intercepted.
bool should_intercept(proxy_config const& config, std::string_view host);

/// Shell-style glob match, case-insensitive ("*.docker.io" matches "registry-1.docker.io").
bool host_matches(std::string_view glob, std::string_view host);

}  // namespace regtrace::proxy

namespace regtrace::proxy {

/// True when no --proxy-auth is configured, or header (a Proxy-Authorization value) carries its
/// credentials as Basic (RFC 9110 §11.7.2); compared in constant time.
bool proxy_auth_matches(proxy_config const& config, std::string_view header);

/// "Basic " and the base64 of credentials ("user:pass"): an Authorization or Proxy-Authorization
/// value (RFC 7617 §2).
std::string basic_authorization(std::string_view credentials);

}  // namespace regtrace::proxy
