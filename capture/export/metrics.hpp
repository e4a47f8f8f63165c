#pragma once
// Prometheus metrics of the finished exchanges (SPEC §9, issue 15): another consumer of what the trace
// writer wrote, beside the HAR file, never on the relay's path. prometheus-cpp's core library holds the
// families and writes the text exposition; its headers stay in metrics.cpp.

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture {

/// The Content-Type of exposition(): Prometheus text format 0.0.4.
inline constexpr std::string_view exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Values their owners keep and the metrics read at each scrape. Either may be empty (not exposed).
/// Called from the thread that calls exposition(); they must be safe there.
struct metrics_sources {
  std::function<std::uint64_t()> exchanges_in_flight;  ///< regtrace_exchanges_in_flight
  std::function<std::uint64_t()> records_lost;         ///< regtrace_trace_records_lost_total
};

struct metrics_limits {
  /// Distinct registry hosts given their own label value; later ones are counted as host="other", so a
  /// client naming endless hosts cannot grow the exposition without bound.
  std::size_t max_hosts = 100;
};

/// Counters and histograms of finished exchanges, by registry host, method, status class and request
/// kind. observe() and observe_findings() from one thread (the trace writer's); exposition() from any
/// thread, at the same time.
class exchange_metrics {
 public:
  explicit exchange_metrics(metrics_sources sources = {}, metrics_limits limits = {});
  ~exchange_metrics();
  exchange_metrics(exchange_metrics const&) = delete;
  exchange_metrics& operator=(exchange_metrics const&) = delete;

  /// Counts one written record (already redacted): the exchange, its bytes, its duration, a client
  /// TLS failure.
  void observe(exchange const& x);
  /// Counts the findings the live rules reported for a record (trace_sink_options::on_findings): each
  /// cause adds the requests it showed on since it was last reported, under its severity now.
  void observe_findings(std::vector<rules::finding> const& findings);
  /// Every metric in Prometheus text exposition format 0.0.4.
  std::string exposition() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace regtrace::capture
