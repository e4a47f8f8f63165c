#pragma once
// WWW-Authenticate challenges and token scopes (catalog §4.1, §4.2; RFC 9110 §11.6.1, RFC 6750 §3).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regtrace::capture::registry {

/// One challenge from a WWW-Authenticate value: `scheme auth-param, ...` or `scheme token68`.
struct auth_challenge {
  std::string scheme;                                       ///< lower-case, e.g. "bearer", "basic"
  std::vector<std::pair<std::string, std::string>> params;  ///< names lower-case, values unquoted
  std::string token68;                                      ///< set instead of params for token68 syntax
  /// The value of the first parameter called name (case-insensitive), or "" when absent.
  std::string param(std::string_view name) const;
};

/// Parses a WWW-Authenticate value, which may hold several challenges (catalog §4.1). Never throws:
/// malformed input yields the challenges and parameters that could be read.
std::vector<auth_challenge> parse_www_authenticate(std::string_view value);

/// One resource scope `type:name:actions` (catalog §4.2).
struct scope_entry {
  std::string type;                  ///< e.g. "repository", "registry"; a deprecated "(class)" is dropped
  std::string name;                  ///< may contain "host:port/", e.g. "localhost:5000/app"
  std::vector<std::string> actions;  ///< e.g. {"pull", "push"} or {"*"}
};

/// Parses a space-separated scope list, splitting each entry at its first and last ':' (catalog §4.2).
/// Never throws: an entry without actions keeps its type and name.
std::vector<scope_entry> parse_scopes(std::string_view scope);

}  // namespace regtrace::capture::registry
