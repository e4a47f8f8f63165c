#pragma once
// The proxy's configuration: a plain struct, units in the names, a default on every member
// (STYLE rule 12). Built by the command line, or by tests with designated initialisers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace regtrace::proxy {

/// curl's --resolve HOST:PORT:ADDR: connect to ADDR whenever HOST:PORT is asked for.
struct resolve_rule {
  std::string host;
  std::uint16_t port = 0;
  std::string address;
};

/// --upstream-proxy http://[USER:PASS@]HOST:PORT: a corporate HTTP proxy that every upstream connection
/// goes through as a CONNECT tunnel. An empty host means upstream connections are direct.
struct chained_proxy {
  std::string host;
  std::uint16_t port = 0;
  std::string credentials;  ///< "user:pass", percent-decoded; empty: no Proxy-Authorization
  bool enabled() const { return !host.empty(); }
};

struct proxy_config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8888;            ///< 0 picks a free port (tests)
  std::filesystem::path har_path;              ///< where the trace goes
  std::filesystem::path ca_dir;                ///< ca.crt and ca.key
  std::vector<std::string> intercept_globs;    ///< when set, only these hosts are intercepted
  std::vector<std::string> passthrough_globs;  ///< tunnelled untouched, logged as CONNECT entries
  std::vector<std::filesystem::path> upstream_ca_files;
  bool insecure_upstream = false;
  std::vector<resolve_rule> resolve_rules;
  /// From --upstream-proxy only: HTTPS_PROXY in regtrace's own environment usually points at regtrace.
  chained_proxy upstream_proxy;
  std::size_t body_limit_bytes = 64 * 1024;  ///< text bodies kept up to this size
  bool redact = true;
  std::filesystem::path keylog_file;  ///< empty: no key log
  bool allow_remote = false;
  std::string proxy_auth;                      ///< "user:pass"; empty: no proxy authentication
  unsigned threads = 0;                        ///< 0: one per core
  std::chrono::seconds idle_timeout{60};       ///< re-armed before every read and write (STYLE rule 7)
  std::chrono::seconds connect_timeout{30};    ///< resolve + TCP connect + TLS handshake, upstream
  std::chrono::seconds pool_idle_timeout{15};  ///< idle upstream connections kept this long
  std::size_t pool_max_idle_per_host = 16;
  std::size_t relay_chunk_bytes = 64 * 1024;   ///< one fixed chunk per read/write on the relay
  std::size_t header_limit_bytes = 64 * 1024;  ///< request/response header bound (431 beyond)
  std::size_t trace_queue_capacity = 4096;
  /// On stop, work about to end (an answer arriving, a refused handshake) gets this long to end by itself
  /// before everything in flight is cut and written as incomplete entries.
  std::chrono::milliseconds stop_grace{250};
  /// On stop, connections get this long in all to write what they had in flight (SPEC §4: about 2 s).
  std::chrono::milliseconds stop_deadline{2000};
  bool console_exchanges = true;                   ///< one console line per exchange
  bool console_json = false;                       ///< --log-format json: console events as JSON Lines
  std::filesystem::path replay_har;  ///< server replay (SPEC §6): answer from this trace, never the network
  bool replay_timing = false;        ///< replay: wait as long as the recorded answer took before answering
  std::filesystem::path store_bodies_dir;  ///< GET 200 bodies kept here by SHA-256; replay answers from it
  /// --metrics HOST:PORT (issue 15): Prometheus /metrics served there; empty host: not served.
  std::string metrics_host;
  std::uint16_t metrics_port = 0;  ///< 0 picks a free port; the server sets the one it bound
  /// --otlp-endpoint (SPEC §9): http://HOST:PORT[/PATH] of an OTLP/HTTP collector; "" exports no spans.
  std::string otlp_endpoint;
};

}  // namespace regtrace::proxy
