#pragma once
// The fleet report model (SPEC §2, issue 15): one report over many traces, one per node, when a pull
// fails on some nodes of a fleet. Findings are grouped by cause across the traces (which traces,
// first and last time seen, how many requests), then each trace keeps its own report. Each trace
// is diagnosed once, by build_report; the fleet only regroups those findings.

#include "capture/report/report.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace regtrace::capture::report {

using time_point = std::chrono::system_clock::time_point;

/// One readable trace of the fleet.
struct fleet_trace {
  /// The file name ("node-a.har"); the path as given when two traces share a file name.
  std::string name{};
  /// The node: the machine regtrace recorded on (log.creator._node, its host name), else the name
  /// without ".har" (other tools' HARs name no host: name their files after the nodes).
  std::string node{};
  /// The trace's own report: without the headers and bodies of its exchanges (slim_report), and
  /// without its entries, exchanges and operations unless the builder was asked to keep them.
  report summary;
};

/// A trace that could not be read, and why.
struct unreadable_trace {
  std::string file;    ///< the path as given
  std::string reason;  ///< the reader's sentence ("not a HAR: ... at byte 1 (line 1, column 1)")
};

/// One finding cause as one trace showed it.
struct fleet_occurrence {
  std::size_t trace = 0;                   ///< index into fleet::traces
  std::size_t requests = 0;                ///< the requests that showed it (times_seen)
  std::optional<time_point> first_seen{};  ///< earliest startedDateTime of those requests
  std::optional<time_point> last_seen{};   ///< latest; nullopt when the HAR gave no times
};

/// One finding cause (catalog ID and the cause the rules gave it) across the traces.
struct fleet_finding {
  std::string id;    ///< catalog ID, "C-01"
  std::string name;  ///< catalog name
  /// The rules' cause key (finding::cause): the image, repository or host it is about; a key of several
  /// lines (C-01: the image, then the client's User-Agent) has them joined with " · ".
  std::string cause;
  rules::severity level = rules::severity::info;  ///< the most severe of its traces
  std::string title;                              ///< the texts of the first trace at that severity
  std::string client_error;
  std::string remediation;
  std::vector<fleet_occurrence> traces{};  ///< in fleet::traces order
  std::size_t requests = 0;                ///< over all traces
  std::optional<time_point> first_seen{};
  std::optional<time_point> last_seen{};
};

/// Everything a fleet report shows.
struct fleet {
  std::vector<fleet_trace> traces;  ///< in the order read
  std::vector<unreadable_trace> unreadable;
  /// Most severe first, then on most traces, then most requests, then by ID and cause.
  std::vector<fleet_finding> findings;
  severity_counts counts{};  ///< finding causes per severity
  std::string verdict;       ///< "FAILED on 2 of 3 traces: 1 error — <title> (C-01)"
};

/// Gathers traces one after another, so that only one trace's exchanges are held at a time.
class fleet_builder {
 public:
  /// keep_entries: keep each report's entries, exchanges and operations (slimmed), as the JSON
  /// format's per-trace reports need them; the other formats show a summary per trace only.
  explicit fleet_builder(bool keep_entries = true) : keep_entries_(keep_entries) {}
  /// Adds a trace's report (from build_report), keeping of it what the builder was asked for.
  void add(report r);
  /// Names a trace that could not be read.
  void add_unreadable(std::string file, std::string reason);
  /// The fleet: names given, findings grouped and sorted, the verdict written.
  fleet finish() &&;

 private:
  bool keep_entries_;
  fleet fleet_;
};

/// r without what only the single-trace text, Markdown and HTML show of its exchanges (headers,
/// bodies, TLS facts): to_json(slim_report(r)) == to_json(r).
report slim_report(report r);

/// The worst severity over all traces, or nullopt when no trace has a finding.
std::optional<rules::severity> worst_severity(fleet const& f);

/// "2024-05-06T07:08:09.290Z", "" for nullopt.
std::string time_text(std::optional<time_point> t);

}  // namespace regtrace::capture::report
