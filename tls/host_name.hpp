#pragma once
// Host names as tls/ uses them for leaf SANs, the cache key and upstream checks (SPEC §3).
// Internal to tls/.

#include "tls/openssl_ptr.hpp"

#include <string>
#include <string_view>

namespace regtrace::tls {

/// A CONNECT host, normalised: lower-case, IPv6 brackets and one trailing dot removed.
struct host_name {
  std::string text;          ///< "registry.example", "10.0.0.1", "::1"
  asn1_octet_string_ptr ip;  ///< the address bytes when text is an IP literal, else null
};

/// Normalises host; an error sentence for an empty name or one with characters no host has.
result<host_name> parse_host(std::string_view host);

}  // namespace regtrace::tls
