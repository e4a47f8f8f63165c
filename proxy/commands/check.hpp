#pragma once
// `regtrace check REGISTRY` (SPEC §1, §2): probe a registry the way a client starts a pull (DNS, TCP,
// TLS, the /v2/ challenge, the token realm and, when a repository is named, its manifest) and name
// what is wrong with the same finding IDs as a trace. The pure parts live here, unit-tested; the
// command (check_command.cpp) makes the requests with the registry client.

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"
#include "proxy/upstream/registry_client.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::proxy {

/// What the user asked to check: a registry, and optionally one image in it.
struct check_target {
  std::string scheme = "https";
  std::string host;
  std::uint16_t port = 443;
  std::string repository;  ///< "" when only the registry is checked
  std::string reference;   ///< tag or "sha256:..." digest; "latest" when a repository has none
  bool operator==(check_target const&) const = default;
};

/// Parses HOST[:PORT][/REPOSITORY[:TAG|@DIGEST]], optionally after "https://" or "http://", as image
/// names are written. "docker.io" means Docker Hub's API host, and its one-part names get "library/"
/// as Docker does. nullopt when the text cannot be a registry.
std::optional<check_target> parse_check_target(std::string_view text);

/// The request that starts every check: GET /v2/.
capture::exchange api_version_request(check_target const& target);
/// HEAD of the named manifest with the Accept list a current Docker sends.
capture::exchange manifest_request(check_target const& target);

/// Lines that describe how the first connection went: DNS, TCP, TLS (version, cipher, chain), and
/// what the challenge and the token answer said. x: the probe's exchanges in order, unredacted (token
/// answers are read here for their claims, never printed).
std::vector<std::string> describe_probe(std::vector<capture::exchange> const& transcript);

/// True when the registry answered the probe as a healthy one: the last /v2/ (and manifest, if any)
/// request got a 2xx answer and no finding is an error or worse.
bool check_passed(std::vector<capture::exchange> const& transcript,
                  std::vector<capture::rules::finding> const& findings);

/// `regtrace check` options, as given on the command line.
struct check_options {
  std::string registry;     ///< HOST[:PORT][/REPOSITORY[:TAG|@DIGEST]]
  registry_client_options client;  ///< credentials, --resolve, CAs, --upstream-proxy
  bool json = false;             ///< print JSON instead of text
  std::filesystem::path har;     ///< also write the probe as a (redacted) HAR; empty: not written
};

/// What a check found.
struct check_result {
  std::vector<capture::exchange> exchanges;  ///< every request made, in order, redacted
  std::vector<std::string> probe;            ///< describe_probe() of the unredacted exchanges
  std::vector<capture::rules::finding> findings;  ///< diagnose() of the redacted exchanges
  bool passed = false;
};

/// Makes the check's requests and diagnoses them. Throws std::invalid_argument with a sentence when
/// options.registry cannot be a registry, std::runtime_error when a CA file cannot be read.
check_result probe_registry(check_options const& options);

/// Runs the check and prints the result. Returns 0 when the registry passed, 2 when it did not;
/// throws std::invalid_argument / std::runtime_error with a sentence on bad input.
int run_check_command(check_options const& options);

}  // namespace regtrace::proxy
