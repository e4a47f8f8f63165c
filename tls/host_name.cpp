#include "tls/host_name.hpp"

#include <algorithm>

namespace regtrace::tls {

namespace {

// RFC 1035 §2.3.4 limits a name to 253 characters in text form. Underscores are not legal in host
// names but do occur in internal registries' names, and refusing them would only hide the registry.
constexpr std::size_t max_host_chars = 253;

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == ':';
}

error bad_host(std::string_view host, std::string_view why) {
  return error{"cannot make a certificate for host '" + std::string{host} + "': " + std::string{why}};
}

}  // namespace

result<host_name> parse_host(std::string_view host) {
  std::string_view bare = host;
  bool const bracketed = bare.size() >= 2 && bare.front() == '[' && bare.back() == ']';
  if (bracketed) bare = bare.substr(1, bare.size() - 2);
  if (!bracketed && bare.ends_with('.')) bare.remove_suffix(1);
  if (bare.empty()) return bad_host(host, "the name is empty");
  if (bare.size() > max_host_chars) return bad_host(host, "the name is longer than 253 characters");

  host_name parsed;
  parsed.text.resize(bare.size());
  std::transform(bare.begin(), bare.end(), parsed.text.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  if (!std::all_of(parsed.text.begin(), parsed.text.end(), is_host_char)) {
    return bad_host(host, "it contains characters that no host name or IP address has");
  }

  parsed.ip.reset(a2i_IPADDRESS(parsed.text.c_str()));
  bool const looks_ipv6 = parsed.text.find(':') != std::string::npos;
  if (!parsed.ip && (bracketed || looks_ipv6)) return bad_host(host, "it is not a valid IPv6 address");
  if (parsed.ip && bracketed && ASN1_STRING_length(parsed.ip.get()) != 16) {
    return bad_host(host, "only IPv6 addresses are written in brackets");
  }
  if (!parsed.ip && (parsed.text.front() == '.' || parsed.text.find("..") != std::string::npos)) {
    return bad_host(host, "it has an empty label");
  }
  return parsed;
}

}  // namespace regtrace::tls
