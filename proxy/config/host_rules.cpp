#include "proxy/config/host_rules.hpp"

#include "proxy/config/connect_target.hpp"

#include <fnmatch.h>

#include <strings.h>
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
    if (rule.port == port && rule.host.size() == host.size() &&
        strncasecmp(rule.host.data(), host.data(), host.size()) == 0)
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

}  // namespace regtrace::proxy

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace regtrace::proxy {

bool proxy_auth_matches(proxy_config const& config, std::string_view header) {
  if (config.proxy_auth.empty()) return true;
  constexpr std::string_view scheme = "basic ";
  if (header.size() <= scheme.size() || strncasecmp(header.data(), scheme.data(), scheme.size()) != 0)
    return false;
  auto presented = header.substr(scheme.size());
  presented.remove_prefix(
      std::min(presented.find_first_not_of(' '), presented.size()));  // RFC 9110 §11.4: 1*SP
  auto const expected = basic_authorization(config.proxy_auth).substr(scheme.size());
  return presented.size() == expected.size() &&
         CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::string basic_authorization(std::string_view credentials) {
  std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  auto length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<unsigned char const*>(credentials.data()),
                                static_cast<int>(credentials.size()));
  encoded.resize(static_cast<std::size_t>(length));
  return "Basic " + encoded;
}

}  // namespace regtrace::proxy
