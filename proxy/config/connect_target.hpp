#pragma once
// Parsing of what a client names as its destination: a CONNECT authority (RFC 9110 §9.3.6) or an
// absolute-form URL (RFC 9112 §3.2.2). Pure functions, unit-tested.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regtrace::proxy {

/// A destination as the client named it. host keeps its spelling, without IPv6 brackets.
struct authority {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(authority const&) const = default;
};

/// "host:port", "[v6]:port". The port is required (CONNECT has no default). nullopt when malformed.
std::optional<authority> parse_connect_authority(std::string_view text);

/// An absolute-form target split into its destination and its origin-form rest.
struct absolute_target {
  std::string scheme;       ///< "http" or "https", lower-case
  authority destination;    ///< port defaulted from the scheme
  std::string origin_form;  ///< path and query byte-for-byte; "/" when the URL has no path
  bool operator==(absolute_target const&) const = default;
};

/// "http://host[:port]/path?q". nullopt when not absolute-form or malformed (userinfo refused).
std::optional<absolute_target> parse_absolute_target(std::string_view target);

/// "host:port" with brackets around IPv6 literals (the form used in URLs and Host headers).
std::string format_authority(authority const& a);

/// True for an IPv4 or IPv6 literal (no brackets).
bool is_ip_literal(std::string_view host);

}  // namespace regtrace::proxy
