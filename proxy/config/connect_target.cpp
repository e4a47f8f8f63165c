#include "proxy/config/connect_target.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace regtrace::proxy {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// RFC 3986 reg-name characters we accept in a host; anything else (spaces, '@', '/') is refused so
// a malformed authority never becomes a DNS query or a certificate name.
bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

// Splits "host[:port]" / "[v6][:port]"; port empty when absent.
std::optional<std::pair<std::string_view, std::string_view>> split_host_port(std::string_view text) {
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!is_ip_literal(host) || host.find(':') == std::string_view::npos) return std::nullopt;
    if (rest.empty()) return std::pair{host, std::string_view{}};
    if (rest.front() != ':') return std::nullopt;
    return std::pair{host, rest.substr(1)};
  }
  auto colon = text.rfind(':');
  auto host = colon == std::string_view::npos ? text : text.substr(0, colon);
  auto port = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (host.empty() || host.size() > 253 || !std::all_of(host.begin(), host.end(), is_host_char))
    return std::nullopt;
  if (colon != std::string_view::npos && port.empty()) return std::nullopt;
  return std::pair{host, port};
}

}  // namespace

bool is_ip_literal(std::string_view host) {
  if (host.find('\0') != std::string_view::npos) return false;  // inet_pton would stop reading there
  std::string text(host);
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::optional<authority> parse_connect_authority(std::string_view text) {
  auto parts = split_host_port(text);
  if (!parts || parts->second.empty()) return std::nullopt;
  auto port = parse_port(parts->second);
  if (!port) return std::nullopt;
  return authority{std::string(parts->first), *port};
}

std::optional<absolute_target> parse_absolute_target(std::string_view target) {
  auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string scheme(target.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") return std::nullopt;

  auto rest = target.substr(scheme_end + 3);
  auto path_start = rest.find_first_of("/?#");
  auto authority_text = rest.substr(0, path_start);
  if (authority_text.find('@') != std::string_view::npos) return std::nullopt;
  auto parts = split_host_port(authority_text);
  if (!parts) return std::nullopt;

  absolute_target result;
  result.scheme = scheme;
  result.destination.host = std::string(parts->first);
  if (parts->second.empty()) {
    result.destination.port = scheme == "https" ? 443 : 80;
  } else {
    auto port = parse_port(parts->second);
    if (!port) return std::nullopt;
    result.destination.port = *port;
  }
  if (path_start == std::string_view::npos) {
    result.origin_form = "/";
  } else {
    // A fragment is never sent (RFC 9110 §4.2.4); everything before it goes byte-for-byte.
    auto origin = rest.substr(path_start);
    origin = origin.substr(0, origin.find('#'));
    result.origin_form = origin.starts_with('?') ? "/" + std::string(origin) : std::string(origin);
    if (result.origin_form.empty()) result.origin_form = "/";
  }
  return result;
}

std::string format_authority(authority const& a) {
  bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

}  // namespace regtrace::proxy
