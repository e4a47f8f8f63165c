#include "proxy/config/connect_target.hpp"

#include "capture/text/url.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace regtrace::proxy {
namespace {

// A port a client may name: digits, 1 to 65535 (0 is nobody's port).
std::optional<std::uint16_t> parse_port(std::string_view text) {
  auto const port = capture::parse_port_number(text);
  return port && *port != 0 ? port : std::nullopt;
}

// RFC 3986 reg-name characters we accept in a host; anything else (spaces, '@', '/') is refused so
// a malformed authority never becomes a DNS query or a certificate name.
bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

// "host[:port]" / "[v6][:port]" split and checked: an IPv6 literal in brackets, a reg-name otherwise,
// and no ':' without a port after it.
std::optional<capture::host_and_port> checked_host_port(std::string_view text) {
  auto const parts = capture::split_host_port(text);
  if (!parts) return std::nullopt;
  if (parts->bracketed) {
    if (!is_ip_literal(parts->host) || parts->host.find(':') == std::string_view::npos) return std::nullopt;
  } else if (parts->host.empty() || parts->host.size() > 253 ||
             !std::all_of(parts->host.begin(), parts->host.end(), is_host_char)) {
    return std::nullopt;
  }
  if (parts->port && parts->port->empty()) return std::nullopt;
  return parts;
}

}  // namespace

bool is_ip_literal(std::string_view host) {
  if (host.find('\0') != std::string_view::npos) return false;  // inet_pton would stop reading there
  std::string text(host);
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::optional<authority> parse_connect_authority(std::string_view text) {
  auto const parts = checked_host_port(text);
  if (!parts || !parts->port) return std::nullopt;
  auto const port = parse_port(*parts->port);
  if (!port) return std::nullopt;
  return authority{std::string(parts->host), *port};
}

std::optional<absolute_target> parse_absolute_target(std::string_view target) {
  auto const url = capture::split_url(target);
  if (!url || (url->scheme != "http" && url->scheme != "https") || url->has_userinfo) return std::nullopt;
  auto const parts = checked_host_port(url->authority);
  if (!parts) return std::nullopt;
  absolute_target result{url->scheme, {std::string(parts->host), 0}, url->target};
  if (!parts->port) {
    result.destination.port = url->scheme == "https" ? 443 : 80;
  } else {
    auto const port = parse_port(*parts->port);
    if (!port) return std::nullopt;
    result.destination.port = *port;
  }
  return result;
}

std::string format_authority(authority const& a) {
  bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

}  // namespace regtrace::proxy
