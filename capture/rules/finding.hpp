#pragma once
// A diagnosis: one catalog failure recognised in a trace, with the entries that prove it (SPEC §5,
// catalog §3). Pure data, written into the HAR's log._findings and rendered by the reports.

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::rules {

/// The catalog's severity scale, least to most severe (catalog, "Severity scale").
enum class severity { info, warning, error, critical };
std::string_view to_string(severity s);  ///< "info", "warning", "error", "critical"
std::optional<severity> severity_from_string(std::string_view name);

/// One entry that shows part of a finding, with the values that matter on it.
struct evidence_item {
  std::size_t entry = 0;  ///< 0-based index into the trace's entries (log.entries)
  std::string detail;     ///< "GET https://r.test/v2/app/manifests/v1 → 404 MANIFEST_UNKNOWN"
  bool operator==(evidence_item const&) const = default;
};

/// One recognised failure (catalog §3 entry), with everything a report needs.
struct finding {
  std::string id;     ///< catalog ID, "D-01"
  std::string name;   ///< catalog name, "REDIRECT_AUTH_FORWARDED"
  severity level = severity::error;
  std::string title;         ///< one line, for the console and headings
  std::string explanation;   ///< what the trace shows, with the values that matter
  std::string client_error;  ///< the error text the user most likely saw
  std::string remediation;   ///< the fix
  std::vector<evidence_item> evidence;  ///< first entry is the one that triggered the finding
  /// What makes findings of this ID one failure (issue 12: one cause, one finding): diagnose() merges
  /// findings with equal id and cause. A rule sets it where one ID has several causes (the
  /// repository, the image, the storage host); "" is filled in with the host of the request that
  /// showed it. Not written to JSON.
  std::string cause{};
  /// The entries of the requests that showed the failure, in trace order: one per request, filled in
  /// by diagnose() (the last evidence entry) unless the rule grouped several requests itself.
  std::vector<std::size_t> seen_on{};
  /// Those of seen_on the client recovered from: the same request or operation succeeded later.
  std::vector<std::size_t> recovered_on{};
  bool operator==(finding const&) const = default;
};

/// How many requests showed the finding (seen_on), at least 1.
std::size_t times_seen(finding const& f);

/// The JSON object of a finding in log._findings and `report --format json` (README documents it):
/// {id, name, severity, title, explanation, client_error, remediation, entries: [i...],
///  evidence: [{entry, detail}...]}.
nlohmann::json to_json(finding const& f);
/// Inverse of to_json, tolerant of missing members. nullopt when it has no id.
std::optional<finding> finding_from_json(nlohmann::json const& j);

/// Rewrites evidence entries (and seen_on, recovered_on) from positions among the exchanges read to
/// positions in log.entries: positions[i] is the log.entries index of exchange i (the reader may skip
/// unusable entries).
void map_evidence_entries(std::vector<finding>& findings, std::vector<std::size_t> const& positions);

/// Orders findings most severe first, then by their first evidence entry (stable for equal keys).
void sort_by_severity(std::vector<finding>& findings);

}  // namespace regtrace::capture::rules
