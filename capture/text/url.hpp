#pragma once
// Splitting URLs and queries (RFC 3986 §3): the one implementation, for the HAR reader, the rules,
// redaction, the classifier and the proxy's absolute-form targets. Nothing here decodes; pieces are
// as written.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture {

/// "scheme://[userinfo@]authority[/path][?query][#fragment]" in pieces.
struct url_pieces {
  std::string scheme;     ///< lower-cased
  bool has_userinfo = false;
  std::string authority;  ///< host[:port] without the userinfo
  std::string target;     ///< path and query; "/" when the URL has no path; never the fragment
};

/// Splits an absolute URL; nullopt when it does not start with "scheme://".
std::optional<url_pieces> split_url(std::string_view url);

/// An authority's host (IPv6 literals without their brackets) and port text.
struct host_and_port {
  std::string_view host;
  std::optional<std::string_view> port;  ///< nullopt without a ':'; may be empty ("host:")
  bool bracketed = false;                ///< the host was written as [v6]
};

/// Splits "host[:port]" or "[v6][:port]"; nullopt for an unclosed bracket or text after it.
std::optional<host_and_port> split_host_port(std::string_view authority);

/// A port number written in decimal digits only, 0 to 65535; nullopt otherwise.
std::optional<std::uint16_t> parse_port_number(std::string_view text);

/// Where a URL points: the scheme, host and port (defaulted from the scheme) and the target.
struct url_location {
  std::string scheme;
  std::string host;
  std::uint16_t port = 0;
  std::string target;
};

/// Reads an absolute URL leniently, as traces hold them (userinfo ignored, any scheme; a port only
/// when http is 80 and anything else 443 by default); nullopt without a scheme, host or valid port.
std::optional<url_location> parse_url(std::string_view url);

/// One part of a query string, as views into it (not decoded). has_value: the part had an '='.
struct query_param {
  std::string_view key;
  std::string_view value;
  bool has_value = false;
};

/// Splits a query ("a=1&b&c=") on '&' into its non-empty parts, in order.
std::vector<query_param> split_query(std::string_view query);

}  // namespace regtrace::capture
