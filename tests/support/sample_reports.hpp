#pragma once
// Reports built from hand-written traces and findings, shared by the report unit tests. The findings
// are given, not diagnosed, so these tests do not depend on which rules exist.

#include "capture/har/har_reader.hpp"
#include "capture/rules/finding.hpp"
#include "capture/report/report.hpp"
#include "tests/support/sample_exchanges.hpp"

#include <vector>

namespace regtrace::capture::test {

/// Three exchanges read as from a HAR whose second entry (no request) was skipped:
/// log.entries positions 0, 2, 3. The middle one is a 404 with a hostile header and path.
inline har_read_result sample_read() {
  har_read_result read;
  auto ping = manifest_get();
  ping.target = "/v2/";
  ping.status = 401;
  ping.finding_ids.clear();
  auto missing = manifest_get();
  missing.started = sample_time(250);
  missing.target = "/v2/team/app/manifests/v1<script>alert(1)</script>|x";
  missing.request_headers.push_back({"X-Evil", "<script>alert('h')</script>\x1b[31m"});
  missing.status = 404;
  missing.reason = "Not Found";
  missing.response_body =
      text_body(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  missing.finding_ids = {"X-99"};  // from the file: must be ignored in favour of the given findings
  auto refused_one = refused();
  refused_one.started = sample_time(400);
  read.exchanges = {ping, missing, refused_one};
  read.entry_indexes = {0, 2, 3};
  read.creator = "WebInspector";
  read.warnings = {"entry 2 has no request; skipped it"};
  return read;
}

inline rules::finding sample_finding(std::string id, rules::severity level, std::size_t exchange_index,
                                        std::string detail) {
  return rules::finding{
      .id = id,
      .name = id == "C-01" ? "MANIFEST_NOT_FOUND" : "SAMPLE_" + id,
      .level = level,
      .title = "title of " + id,
      .explanation = "explanation of " + id,
      .client_error = "client error of " + id,
      .remediation = "fix of " + id,
      .evidence = {{exchange_index, std::move(detail)}},
  };
}

/// A report with an error on the 404 (log entry 2) and a warning on the refused connection (entry 3).
inline report::report sample_report() {
  return report::make_report(sample_read(), "trace.har",
                             {sample_finding("W-01", rules::severity::warning, 2, "CONNECT refused"),
                              sample_finding("C-01", rules::severity::error, 1,
                                             "GET /v2/team/app/manifests/v1<script> → 404 | x")});
}

}  // namespace regtrace::capture::test
