#include "capture/text/url.hpp"

#include "capture/text/ascii.hpp"

#include <charconv>

namespace regtrace::capture {
namespace {

// RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Checked so that a relative URL whose
// query holds "://" is not taken for an absolute one.
bool is_scheme(std::string_view text) {
  if (text.empty() || !((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z'))) return false;
  for (char c : text) {
    bool const ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<url_pieces> split_url(std::string_view url) {
  auto const scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || !is_scheme(url.substr(0, scheme_end))) return std::nullopt;
  url_pieces out;
  out.scheme = to_lower(url.substr(0, scheme_end));
  url.remove_prefix(scheme_end + 3);
  auto authority = url.substr(0, url.find_first_of("/?#"));
  auto rest = url.substr(authority.size());
  if (auto const at = authority.rfind('@'); at != std::string_view::npos) {
    out.has_userinfo = true;
    authority.remove_prefix(at + 1);
  }
  out.authority = std::string(authority);
  // A fragment is never sent (RFC 9110 §4.2.4); a query without a path gets the root path.
  rest = rest.substr(0, rest.find('#'));
  out.target = rest.starts_with('/') ? std::string(rest) : "/" + std::string(rest);
  return out;
}

std::optional<host_and_port> split_host_port(std::string_view authority) {
  if (authority.starts_with('[')) {
    auto const close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto const after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return std::nullopt;
    host_and_port out{authority.substr(1, close - 1), std::nullopt, true};
    if (!after.empty()) out.port = after.substr(1);
    return out;
  }
  auto const colon = authority.rfind(':');
  if (colon == std::string_view::npos) return host_and_port{authority, std::nullopt, false};
  return host_and_port{authority.substr(0, colon), authority.substr(colon + 1), false};
}

std::optional<std::uint16_t> parse_port_number(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<url_location> parse_url(std::string_view url) {
  auto const pieces = split_url(url);
  if (!pieces) return std::nullopt;
  auto const where = split_host_port(pieces->authority);
  if (!where || where->host.empty()) return std::nullopt;
  url_location out{pieces->scheme, std::string(where->host), static_cast<std::uint16_t>(pieces->scheme == "http" ? 80 : 443),
                   pieces->target};
  if (where->port && !where->port->empty()) {
    auto const port = parse_port_number(*where->port);
    if (!port) return std::nullopt;
    out.port = *port;
  }
  return out;
}

std::vector<query_param> split_query(std::string_view query) {
  std::vector<query_param> params;
  while (!query.empty()) {
    auto const amp = query.find('&');
    auto const part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    auto const eq = part.find('=');
    if (eq == std::string_view::npos)
      params.push_back({part, {}, false});
    else
      params.push_back({part.substr(0, eq), part.substr(eq + 1), true});
  }
  return params;
}

}  // namespace regtrace::capture
