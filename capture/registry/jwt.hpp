#pragma once
// Token requests, token answers and JWT access tokens, read for the checks of catalog §4.6. Only a
// JWT's header and payload are decoded; its signature is never kept (catalog §5).

#include "capture/model/exchange.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::registry {

/// One entry of a distribution-style JWT `access` claim (catalog §4.6).
struct jwt_access {
  std::string type;                  ///< "repository", "registry"
  std::string name;                  ///< "library/alpine"
  std::vector<std::string> actions;  ///< {"pull", "push"}
};

/// The claims of a JWT that the auth rules read. Times are seconds since the epoch.
struct jwt_claims {
  std::string algorithm;  ///< header "alg"
  std::vector<jwt_access> access;
  bool has_access = false;             ///< the payload had an `access` array (possibly empty)
  std::vector<std::string> audiences;  ///< "aud", a string or an array of strings
  std::string issuer;
  std::string subject;
  std::optional<std::int64_t> expires;     ///< "exp"
  std::optional<std::int64_t> not_before;  ///< "nbf"
  std::optional<std::int64_t> issued_at;   ///< "iat"
};

/// Decodes header and payload of a compact JWT ("x.y.z", base64url). nullopt when the text is no JWT,
/// e.g. a redaction marker.
std::optional<jwt_claims> decode_jwt(std::string_view token);

/// A token's access list as scope text: "repository:app:pull,push, registry:catalog:*", or
/// "nothing (empty access list)".
std::string granted_text(std::vector<jwt_access> const& access);

/// The credential after "Bearer " in an Authorization value, or "" for another scheme.
std::string_view bearer_credential(std::string_view authorization);

/// A token endpoint's 200 answer (catalog §4.3, §4.4).
struct token_answer {
  bool is_json_object = false;
  std::string token;       ///< "token", else "access_token" (may be a redaction marker)
  bool has_token = false;  ///< "token" present and a non-empty string
  bool has_access_token = false;
  std::optional<std::int64_t> expires_in;
  std::string scope;  ///< granted scopes (POST form answers)
};

/// Reads a token answer body. Never throws.
token_answer parse_token_answer(std::string_view body);

/// What a token request presented (catalog §4.3, §4.4, §4.6 check 3).
struct token_request {
  std::string credential;    ///< "Basic", "Bearer", "password grant", "refresh_token grant"; "" if none
  std::string username;      ///< Basic user (redaction keeps it), form username or account=; "" if unknown
  bool has_account = false;  ///< GET with account=
  std::vector<std::string> scopes;  ///< every requested scope, in order
  std::string service;
  /// Neither credentials nor account= (catalog §4.6 check 3).
  bool anonymous() const { return credential.empty() && !has_account; }
};

/// Reads the query (GET) or form body (POST) and Authorization of a token request.
token_request read_token_request(exchange const& x);

}  // namespace regtrace::capture::registry
