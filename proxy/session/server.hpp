#pragma once
// The proxy server: io_context and its threads, the accept loop, the trace sink. No Beast in this
// header, so the command line and tests include it cheaply.

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"
#include "capture/trace/trace_sink.hpp"
#include "proxy/config/config.hpp"
#include "proxy/upstream/otlp_exporter.hpp"

#include <functional>
#include <memory>
#include <optional>

namespace spdlog {
class logger;
}

namespace regtrace::proxy {

/// A long transfer still running: bytes relayed so far of total (0 when the length is not known).
struct transfer_progress {
  std::uint64_t bytes = 0;
  std::uint64_t total = 0;
  double seconds = 0;  ///< since the body began to move
};

/// Callbacks the server calls: on the trace writer's thread, except on_progress.
struct server_hooks {
  std::function<void(capture::exchange const&)> on_exchange;  ///< after each record is written
  std::function<void(std::string const&)> on_problem;         ///< a record could not be written
  /// findings an exchange completed (SPEC §5, live diagnostics); called after on_exchange
  std::function<void(capture::exchange const&, std::vector<capture::rules::finding> const&)> on_findings;
  /// About once a second while a long body moves (SPEC §2), on the worker thread that relays it; the
  /// exchange is still being filled in. Empty: no progress is reported.
  std::function<void(capture::exchange const&, transfer_progress const&)> on_progress;
};

/// A running proxy. create() does everything that can fail at start-up; stop() is idempotent.
class server {
 public:
  /// Loads or creates the CA, builds TLS contexts, opens the trace and binds the listener.
  /// Throws std::runtime_error with a sentence a person can act on.
  static std::unique_ptr<server> create(proxy_config config, std::shared_ptr<spdlog::logger> log,
                                        server_hooks hooks = {});
  ~server();

  /// The port actually bound (useful with listen_port 0).
  std::uint16_t port() const;
  /// Starts the accept loop on config.threads threads (one per core when 0) and returns.
  void start();
  /// Stops accepting, ends open connections, drains and closes the trace. Idempotent.
  void stop();
  /// The port /metrics is served on (--metrics), 0 when it is not served.
  std::uint16_t metrics_port() const;
  /// The trace writer's counters (written, dropped, failed).
  capture::trace_sink::counters trace_counters() const;
  /// The span exporter's counters (exported, dropped); nullopt without --otlp-endpoint.
  std::optional<otlp_exporter::counters> otlp_counters() const;
  std::filesystem::path const& trace_path() const;

  struct impl;

 private:
  explicit server(std::shared_ptr<impl> state);
  std::shared_ptr<impl> impl_;
};

}  // namespace regtrace::proxy
