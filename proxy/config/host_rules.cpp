#include "proxy/config/host_rules.hpp"

#include "capture/text/ascii.hpp"
#include "capture/text/base64.hpp"
#include "proxy/config/connect_target.hpp"

#include <fnmatch.h>
#include <openssl/crypto.h>

#include <algorithm>

namespace regtrace::proxy {

std::optional<resolve_rule> parse_resolve_rule(std::string_view text) {
  // HOST:PORT:ADDR — the host and port never contain ':', so split on the first two.
  auto first = text.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = text.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto parsed = parse_connect_authority(text.substr(0, second));
  if (!parsed) return std::nullopt;
  std::string_view address = text.substr(second + 1);
  if (address.starts_with('[') && address.ends_with(']')) address = address.substr(1, address.size() - 2);
  if (!is_ip_literal(address)) return std::nullopt;
  return resolve_rule{parsed->host, parsed->port, std::string(address)};
}

std::optional<std::string> pinned_address(proxy_config const& config, std::string_view host,
                                          std::uint16_t port) {
  for (auto const& rule : config.resolve_rules) {
    if (rule.port == port && capture::iequals(rule.host, host))
      return rule.address;
  }
  return std::nullopt;
}

bool host_matches(std::string_view glob, std::string_view host) {
  return fnmatch(std::string(glob).c_str(), std::string(host).c_str(), FNM_CASEFOLD) == 0;
}

bool should_intercept(proxy_config const& config, std::string_view host) {
  auto matches = [&](std::string const& glob) { return host_matches(glob, host); };
  if (std::any_of(config.passthrough_globs.begin(), config.passthrough_globs.end(), matches)) return false;
  if (config.intercept_globs.empty()) return true;
  return std::any_of(config.intercept_globs.begin(), config.intercept_globs.end(), matches);
}

bool proxy_auth_matches(proxy_config const& config, std::string_view header) {
  if (config.proxy_auth.empty()) return true;
  constexpr std::string_view scheme = "basic ";
  if (header.size() <= scheme.size() || !capture::istarts_with(header, scheme)) return false;
  auto presented = header.substr(scheme.size());
  presented.remove_prefix(
      std::min(presented.find_first_not_of(' '), presented.size()));  // RFC 9110 §11.4: 1*SP
  auto const expected = basic_authorization(config.proxy_auth).substr(scheme.size());
  return presented.size() == expected.size() &&
         CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::string basic_authorization(std::string_view credentials) {
  return "Basic " + capture::base64_encode(credentials);
}

}  // namespace regtrace::proxy
