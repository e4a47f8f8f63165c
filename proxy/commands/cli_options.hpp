#pragma once
// Internal to the commands: the options of `proxy`, `replay send` and `check` as given on the command
// line, and their checks. No CLI11 here (cli.cpp binds these members to flags), so what makes a
// command line valid reads in one place.

#include "proxy/config/config.hpp"
#include "proxy/upstream/registry_client.hpp"

#include <string>
#include <vector>

namespace regtrace::proxy {

/// `regtrace proxy` options, as given; defaults are the ones `--help` shows.
struct proxy_options {
  std::string listen = "127.0.0.1:8888";
  std::string har;
  std::string out_dir;
  std::string ca_dir;
  std::vector<std::string> intercept, passthrough, upstream_ca, resolve;
  std::string upstream_proxy;
  bool insecure_upstream = false;
  std::string body_limit = "64k";
  bool no_redact = false;
  std::string keylog;
  bool allow_remote = false;
  std::string proxy_auth;
  unsigned threads = 0;
  int verbose = 0;
  bool quiet = false;
  std::string log_format = "text";
  std::string replay;
  bool replay_timing = false;
  std::string store_bodies;
  std::string metrics;         ///< --metrics HOST:PORT; empty: no /metrics
  std::string setup = "auto";  ///< whose set-up the banner prints: auto, all, none, docker,containerd,podman
  std::string otlp_endpoint;  ///< --otlp-endpoint URL: spans to an OpenTelemetry Collector
};

/// The proxy's configuration; throws std::invalid_argument with a sentence naming the option.
/// Creates the --out folder.
proxy_config build_proxy_config(proxy_options const& o);

/// The options of the commands that talk to a registry themselves (replay send, check), as given.
struct registry_client_flags {
  std::string credentials;
  std::vector<std::string> resolve, upstream_ca;
  std::string upstream_proxy;
  bool insecure = false;

  /// Validated; throws std::invalid_argument with a sentence.
  registry_client_options options() const;
};

}  // namespace regtrace::proxy
