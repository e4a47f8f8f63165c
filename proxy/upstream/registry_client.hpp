#pragma once
// A small registry client for the commands that talk to a registry themselves (`replay send`,
// `check`): one request per new connection, as dockerd does, answering 401 challenges the way a
// client would (Basic with the given credentials, or a token from the Bearer realm, catalog §4).
// Every request it makes, token requests and refused first tries included, is kept in order in
// transcript(), so the rules engine can read the flow as it would read a captured one.

#include "capture/model/exchange.hpp"
#include "proxy/config/config.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace regtrace::proxy {

struct registry_client_options {
  std::string credentials;  ///< "USER:PASS" for Basic challenges and token requests; may be empty
  std::vector<resolve_rule> resolve_rules;
  std::vector<std::filesystem::path> upstream_ca_files;
  bool insecure = false;  ///< do not verify the registry's certificate
  chained_proxy upstream_proxy;  ///< --upstream-proxy: every connection through this CONNECT proxy
  std::string user_agent = "regtrace/" REGTRACE_VERSION;  ///< replaces the request's own
};

class registry_client {
 public:
  /// Throws std::runtime_error with a sentence when a CA file cannot be read.
  explicit registry_client(registry_client_options options);
  ~registry_client();
  registry_client(registry_client const&) = delete;
  registry_client& operator=(registry_client const&) = delete;

  /// Sends x's request (method, scheme, host, port, target, headers; no body) and fills in the
  /// response, hashing the body as it streams and keeping it when it is text. With authenticate, a
  /// 401 is answered once with fresh credentials and x holds the second answer; without, an
  /// anonymous 401 stays a 401. Failures (DNS, connect, TLS, timeouts) are recorded in x, never
  /// thrown.
  void send(capture::exchange& x, bool authenticate);

  /// Every exchange made so far, in order, unredacted.
  std::vector<capture::exchange> const& transcript() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace regtrace::proxy
