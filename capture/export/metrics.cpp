#include "capture/export/metrics.hpp"

#include "capture/registry/classifier.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/utf8.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace regtrace::capture {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Histogram;

// A registry request takes from a few milliseconds (a manifest HEAD on a kept-alive connection) to many
// minutes (a multi-gigabyte layer); a token fetch or a slow upstream lands in between.
Histogram::BucketBoundaries const duration_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                   2.5,   5,    10,    30,   60,  120,  300, 900};

// Causes whose reported count is remembered (observe_findings); the rules keep as many.
constexpr std::size_t max_tracked_causes = 10000;
// A host label longer than any DNS name is cut here.
constexpr std::size_t max_host_bytes = 255;

// "2xx" … "5xx"; "none" when no response came (status 0).
std::string status_class(int status) {
  if (status < 100 || status > 599) return "none";
  return std::to_string(status / 100) + "xx";
}

// The methods registry clients send; anything else is one value, so a client cannot invent series.
std::string method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 8> known{"GET",   "HEAD",   "POST",    "PUT",
                                                         "PATCH", "DELETE", "OPTIONS", "CONNECT"};
  for (auto const name : known)
    if (name == method) return std::string(name);
  return "other";
}

// What the request was in registry terms (ping, token, manifest, blob, …); an entry that is not an
// HTTP exchange (tunnel, connect_failed, client_tls_rejected) is its own kind.
std::string kind_label(exchange const& x) {
  if (x.kind != entry_kind::exchange) return std::string(to_string(x.kind));
  return std::string(registry::to_string(registry::classify(x.method, x.host, x.target).kind));
}

// Why a client's TLS handshake with regtrace failed, or nullopt when it did not (or regtrace stopped).
std::optional<std::string> client_tls_reason(exchange const& x) {
  if (!x.failure || x.failure->where != phase::client_tls || failed_with(x, errc::proxy_stopped))
    return std::nullopt;
  if (failed_with(x, errc::client_rejected_certificate)) return "rejected_certificate";  // catalog A-03
  if (failed_with(x, errc::tls_version_too_low)) return "protocol_version";              // catalog A-05
  if (failed_with(x, errc::client_timeout)) return "timeout";                            // catalog A-06
  return "handshake_failed";
}

// One sample of a value read at scrape time, as its own family.
prometheus::MetricFamily single_sample(std::string name, std::string help, prometheus::MetricType type,
                                       double value) {
  prometheus::MetricFamily family{
      .name = std::move(name), .help = std::move(help), .type = type, .metric = {}};
  prometheus::ClientMetric sample;
  if (type == prometheus::MetricType::Counter) sample.counter.value = value;
  if (type == prometheus::MetricType::Gauge) sample.gauge.value = value;
  family.metric.push_back(std::move(sample));
  return family;
}

}  // namespace

struct exchange_metrics::state {
  explicit state(metrics_sources sources_in, metrics_limits limits_in)
      : sources(std::move(sources_in)), limits(limits_in) {}

  /// The host's label value: lower-cased authority (port when not the default), valid UTF-8, and
  /// "other" once max_hosts hosts have their own.
  std::string host_label(exchange const& x) {
    auto host = to_lower(x.authority());
    if (host.size() > max_host_bytes) host.resize(max_host_bytes);
    host = replace_invalid_utf8(host);
    if (hosts.contains(host)) return host;
    if (hosts.size() >= limits.max_hosts) return "other";
    hosts.insert(host);
    return host;
  }

  metrics_sources sources;
  metrics_limits limits;
  prometheus::Registry registry;
  Family<Counter>& exchanges = prometheus::BuildCounter()
                                   .Name("regtrace_exchanges_total")
                                   .Help(
                                       "Exchanges written to the trace, by registry host, method, status "
                                       "class and request kind")
                                   .Register(registry);
  Family<Counter>& request_bytes = prometheus::BuildCounter()
                                       .Name("regtrace_request_bytes_total")
                                       .Help("Request body bytes relayed from clients to registries")
                                       .Register(registry);
  Family<Counter>& response_bytes =
      prometheus::BuildCounter()
          .Name("regtrace_response_bytes_total")
          .Help("Response body bytes relayed to clients, regtrace's own error answers included")
          .Register(registry);
  Family<Histogram>& duration = prometheus::BuildHistogram()
                                    .Name("regtrace_request_duration_seconds")
                                    .Help("Time from a request's start to its exchange's end")
                                    .Register(registry);
  Family<Counter>& tls_failures = prometheus::BuildCounter()
                                      .Name("regtrace_client_tls_failures_total")
                                      .Help("TLS handshakes clients failed with regtrace, by host and reason")
                                      .Register(registry);
  Family<Counter>& findings = prometheus::BuildCounter()
                                  .Name("regtrace_findings_total")
                                  .Help("Requests that showed a finding, by catalog ID and severity")
                                  .Register(registry);
  std::set<std::string> hosts;  ///< hosts with a label value of their own; observing thread only
  /// (finding id, cause) -> the requests already counted for it; observing thread only.
  std::map<std::pair<std::string, std::string>, std::size_t> counted_causes;
};

exchange_metrics::exchange_metrics(metrics_sources sources, metrics_limits limits)
    : state_(std::make_unique<state>(std::move(sources), limits)) {}

exchange_metrics::~exchange_metrics() = default;

void exchange_metrics::observe(exchange const& x) {
  auto& s = *state_;
  auto const host = s.host_label(x);
  auto const kind = kind_label(x);
  s.exchanges
      .Add({{"host", host},
            {"method", method_label(x.method)},
            {"status_class", status_class(x.status)},
            {"kind", kind}})
      .Increment();
  s.request_bytes.Add({{"host", host}}).Increment(static_cast<double>(x.request_body.bytes));
  s.response_bytes.Add({{"host", host}}).Increment(static_cast<double>(x.response_body.bytes));
  s.duration.Add({{"host", host}, {"kind", kind}}, duration_buckets).Observe(x.total_ms() / 1000.0);
  if (auto reason = client_tls_reason(x))
    s.tls_failures.Add({{"host", host}, {"reason", *reason}}).Increment();
}

void exchange_metrics::observe_findings(std::vector<rules::finding> const& findings) {
  auto& s = *state_;
  for (auto const& f : findings) {
    // The live rules report a cause again, as its whole finding so far, each time it shows on more
    // requests: count what it added since. A cause beyond the tracked ones counts one per report.
    auto const seen = rules::times_seen(f);
    std::size_t added = 1;
    auto key = std::make_pair(f.id, f.cause);
    if (auto known = s.counted_causes.find(key); known != s.counted_causes.end()) {
      added = seen > known->second ? seen - known->second : 0;
      known->second = std::max(known->second, seen);
    } else if (s.counted_causes.size() < max_tracked_causes) {
      added = seen;
      s.counted_causes.emplace(std::move(key), seen);
    }
    if (added == 0) continue;
    s.findings.Add({{"id", f.id}, {"severity", std::string(rules::to_string(f.level))}})
        .Increment(static_cast<double>(added));
  }
}

std::string exchange_metrics::exposition() const {
  auto families = state_->registry.Collect();
  auto const& sources = state_->sources;
  if (sources.exchanges_in_flight)
    families.push_back(
        single_sample("regtrace_exchanges_in_flight",
                      "Client connections with an exchange under way (not waiting for a request)",
                      prometheus::MetricType::Gauge, static_cast<double>(sources.exchanges_in_flight())));
  if (sources.records_lost)
    families.push_back(single_sample(
        "regtrace_trace_records_lost_total", "Trace records dropped (queue full) or not written (I/O error)",
        prometheus::MetricType::Counter, static_cast<double>(sources.records_lost())));
  return prometheus::TextSerializer{}.Serialize(families);
}

}  // namespace regtrace::capture
