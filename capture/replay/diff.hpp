#pragma once
// Client replay's comparison (issue 4, SPEC §6): what changed between a recorded exchange and the same
// request sent to the registry today, and which findings appeared or disappeared.

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"

#include <string>
#include <vector>

namespace regtrace::capture::replay {

/// What changed for one request. changes is empty when the answer is the same.
struct request_diff {
  std::size_t recorded_entry = 0;  ///< 0-based index in the recorded trace
  std::string method;
  std::string url;
  int recorded_status = 0;
  int status_now = 0;
  std::vector<std::string> changes;  ///< sentences: "status 200 → 404 (BLOB_UNKNOWN)", "Docker-Content-Digest ..."
};

/// Compares the recorded answer with today's: status (and registry error code), the headers that
/// matter to a registry client (Docker-Content-Digest, Content-Type, Content-Length, the Location
/// host), the body's SHA-256, and time to the first byte when it changed by more than 2× and 100 ms.
request_diff compare(exchange const& recorded, std::size_t recorded_entry, exchange const& now);

/// Findings by ID: those only in `now` appeared, those only in `recorded` disappeared.
struct findings_diff {
  std::vector<rules::finding> appeared;
  std::vector<rules::finding> disappeared;
};
findings_diff compare_findings(std::vector<rules::finding> const& recorded,
                               std::vector<rules::finding> const& now);

}  // namespace regtrace::capture::replay
