#include "proxy/config/upstream_proxy.hpp"

#include "capture/text/ascii.hpp"
#include "capture/text/percent.hpp"
#include "proxy/config/host_rules.hpp"

#include <stdexcept>

namespace regtrace::proxy {
namespace {

// RFC 3986 §2.1: a password may hold ':' or '@' only percent-encoded, as proxy URLs in the wild do.
std::string decode_userinfo(std::string_view text) {
  auto decoded = capture::percent_decode_strict(text);
  if (!decoded)
    throw std::invalid_argument(
        "--upstream-proxy: the user or password has a '%' that is not followed by two hex digits; "
        "write a literal % as %25");
  return std::move(*decoded);
}

}  // namespace

chained_proxy parse_upstream_proxy(std::string_view url) {
  constexpr std::string_view usage =
      " (expected http://[USER:PASS@]HOST:PORT, for example http://proxy.example:3128)";
  auto const scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    throw std::invalid_argument("--upstream-proxy needs a URL" + std::string(usage));
  auto const scheme = capture::to_lower(url.substr(0, scheme_end));
  // regtrace speaks to the proxy in plain HTTP; the tunnel inside still carries TLS to the registry.
  if (scheme != "http")
    throw std::invalid_argument("--upstream-proxy supports only http:// proxies, not " + scheme + "://" +
                                std::string(usage));
  auto rest = url.substr(scheme_end + 3);
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos)
    throw std::invalid_argument("--upstream-proxy takes no path or query" + std::string(usage));

  chained_proxy proxy;
  if (auto const at = rest.rfind('@'); at != std::string_view::npos) {
    auto const userinfo = rest.substr(0, at);
    auto const colon = userinfo.find(':');
    // Like Go's proxy dialer, a user without a password is sent as "user:".
    proxy.credentials =
        decode_userinfo(userinfo.substr(0, colon)) + ":" +
        (colon == std::string_view::npos ? std::string{} : decode_userinfo(userinfo.substr(colon + 1)));
    rest = rest.substr(at + 1);
  }
  auto const where = parse_connect_authority(rest);
  if (!where) {
    // Every proxy has its own default port (3128, 8080, 80): ask rather than guess.
    bool const no_port =
        rest.find(':') == std::string_view::npos || (rest.starts_with('[') && rest.ends_with(']'));
    throw std::invalid_argument("--upstream-proxy: \"" + std::string(rest) + "\" is not HOST:PORT" +
                                (no_port ? "; add the proxy's port" : std::string{}) + std::string(usage));
  }
  proxy.host = where->host;
  proxy.port = where->port;
  return proxy;
}

std::string display_url(chained_proxy const& proxy) {
  return proxy.enabled() ? "http://" + format_authority({proxy.host, proxy.port}) : std::string{};
}

std::string connect_request_text(authority const& to, chained_proxy const& proxy) {
  auto const target = format_authority(to);
  std::string text = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
  if (!proxy.credentials.empty())
    text += "Proxy-Authorization: " + basic_authorization(proxy.credentials) + "\r\n";
  return text + "\r\n";
}

}  // namespace regtrace::proxy
