#pragma once
// The OTLP/HTTP span exporter (SPEC §9, issue 15): one span per finished exchange, sent in batches to
// an OpenTelemetry Collector. A consumer of finished exchanges beside the trace writer, never on the
// relay's path: the writer's thread only copies a span's facts into a bounded queue (full: the span
// is dropped and counted); the sending runs on a thread and io_context of its own, so neither a slow
// collector nor protobuf encoding takes time from the relay's workers. No Beast in this header.

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}

namespace regtrace::proxy {

/// Where spans go: http://HOST:PORT[/PATH].
struct otlp_endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string path = "/v1/traces";  ///< OTLP/HTTP's path for traces when the URL names none
};

/// Parses --otlp-endpoint: http://HOST:PORT, with an optional path ("/" or none: /v1/traces). Throws
/// std::invalid_argument with a sentence (https is refused: regtrace sends plain HTTP, to a collector
/// on the machine or next to it, which forwards over TLS).
otlp_endpoint parse_otlp_endpoint(std::string_view url);
/// "http://host:port/path".
std::string display_url(otlp_endpoint const& endpoint);

struct otlp_exporter_options {
  otlp_endpoint endpoint;
  std::size_t queue_capacity = 2048;               ///< spans waiting to be sent; more are dropped and counted
  std::size_t max_batch_spans = 512;               ///< spans per request
  std::chrono::milliseconds batch_interval{1000};  ///< a batch goes at least this often (sooner when full)
  std::chrono::milliseconds request_timeout{10000};  ///< connect, write and read of one request, each
  unsigned max_attempts = 5;                         ///< per batch, counting the first (429/502/503/504 only)
  std::chrono::seconds max_retry_delay{30};          ///< bound on Retry-After and on the backoff
  std::chrono::milliseconds flush_timeout{2000};     ///< stop(): how long what is queued may take to go
  std::string service_version = REGTRACE_VERSION;    ///< resource service.version
  std::string host_name;                             ///< resource host.name; "" asks the system
};

/// Thread-safe: submit() and note_findings() from the trace writer's thread, the rest from the owner.
class otlp_exporter {
 public:
  otlp_exporter(otlp_exporter_options options, std::shared_ptr<spdlog::logger> log);
  ~otlp_exporter();
  otlp_exporter(otlp_exporter const&) = delete;
  otlp_exporter& operator=(otlp_exporter const&) = delete;

  /// Queues the span of a written (redacted) exchange. Never blocks on I/O; drops and counts it when
  /// the queue is full or the exporter has stopped.
  void submit(capture::exchange const& x) noexcept;
  /// Learns the titles and severities of findings, for the span events of their IDs.
  void note_findings(std::vector<capture::rules::finding> const& findings) noexcept;
  /// Starts the sending thread.
  void start();
  /// Sends what is queued, waiting at most flush_timeout, then stops the thread; what could not go is
  /// counted as dropped. Idempotent.
  void stop();

  struct counters {
    std::uint64_t exported = 0;            ///< spans the collector accepted
    std::uint64_t dropped = 0;             ///< spans lost, for any reason (the sum of the three below)
    std::uint64_t dropped_queue_full = 0;  ///< the queue was full (or the exporter stopped)
    std::uint64_t dropped_refused = 0;     ///< the collector refused them, rejected them (partial success)
                                           ///< or could not be reached, after any retries
    std::uint64_t dropped_at_stop = 0;     ///< still queued or waiting to be retried when regtrace stopped
    std::uint64_t requests = 0;            ///< POSTs attempted
    std::uint64_t failed_requests = 0;     ///< POSTs without a 2xx answer
  };
  counters stats() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace regtrace::proxy
