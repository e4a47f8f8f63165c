#pragma once
// The report model (SPEC §2, §5 "Reports"): what `regtrace report` says about a trace, built once
// from a read HAR and a fresh diagnosis, then drawn by the text, markdown, JSON and HTML renderers.
// The file's own log._findings are not trusted: re-diagnosing lets old traces benefit from new rules.

#include "capture/model/exchange.hpp"
#include "capture/har/har_reader.hpp"
#include "capture/registry/user_agent.hpp"
#include "capture/report/operations.hpp"
#include "capture/rules/finding.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::report {

/// One row of the request table and one bar of the waterfall.
struct entry_row {
  std::size_t index = 0;   ///< 0-based position in log.entries (human formats print index + 1)
  std::string started;     ///< ISO 8601 UTC start time, "" when the HAR had none
  double start_ms = 0;     ///< offset from the earliest start in the trace
  std::string method;      ///< "GET", or the entry kind ("tunnel") when there was no method
  std::string url;         ///< full URL (query values as the trace has them, redacted or not)
  std::string host;        ///< "host[:port]"
  std::string path;        ///< shortened for tables (digests cut, query elided)
  int status = 0;          ///< 0: no response
  std::string reason;      ///< status text
  std::string error_code;  ///< registry or vendor error code of an error answer ("MANIFEST_UNKNOWN")
  std::string failure;     ///< "upstream_connect: connection refused" when the exchange failed
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  double time_ms = 0;                    ///< total time (sum of the non-negative timings)
  timings_ms timings;                    ///< HAR timings, -1 where not applicable
  std::vector<std::string> finding_ids;  ///< IDs of the findings that cite this entry, most severe first
  std::size_t exchange = 0;  ///< position of the exchange in report::exchanges (headers for HTML details)
};

/// Severity counts, indexed by rules::severity (info, warning, error, critical).
using severity_counts = std::array<std::size_t, 4>;

/// Where the trace came from.
struct source_info {
  std::string file;          ///< the path as given on the command line
  std::string creator;       ///< log.creator.name ("regtrace", "WebInspector", "mitmproxy har_dump")
  std::string node;          ///< log.creator._node: the machine regtrace recorded on; "" when not said
  std::size_t entries = 0;   ///< exchanges read
  bool truncated = false;    ///< the file ended mid-way; complete entries were still read
  bool by_regtrace = false;  ///< written by regtrace (its own log._findings were ignored all the same)
};

/// Everything a report shows.
struct report {
  source_info source;
  std::string verdict;  ///< one sentence: "FAILED: 1 error — the tag does not exist (C-01)"
  severity_counts counts{};
  std::vector<rules::finding> findings;  ///< most severe first; evidence entries are log.entries indexes
  std::string client_error;  ///< what the user most likely saw: the most severe finding's client_error
  std::string remediation;   ///< the fix of the most severe finding
  std::vector<entry_row> entries;
  std::vector<operation> operations;  ///< the client operations the entries make up, before the findings
  std::vector<registry::client_summary> clients;  ///< the runtimes that sent the requests (User-Agent)
  std::vector<std::string> warnings;  ///< from the reader: truncated file, skipped entries
  std::vector<exchange> exchanges;    ///< the trace as read; entry_row::exchange indexes it
};

/// Builds the report: re-diagnoses the exchanges and numbers everything by log.entries position.
/// file is the name to show.
report build_report(har_read_result read, std::string file);
/// build_report with the findings given instead of diagnosed (their evidence indexes are positions
/// in read.exchanges, as diagnose() gives them). For tests and callers that diagnosed already.
report make_report(har_read_result read, std::string file, std::vector<rules::finding> findings);

/// The worst severity among the findings, or nullopt when there are none.
std::optional<rules::severity> worst_severity(report const& r);

/// "1 request", "3 requests": n and the word that goes with it.
std::string plural(std::size_t n, std::string_view one, std::string_view many);

/// "1 critical, 2 errors, 1 warning", most severe first ("" when all are zero).
std::string counts_phrase(severity_counts const& counts);

}  // namespace regtrace::capture::report
