// build_report / make_report: verdict, counts, renumbering to log.entries, rows and timeline data.

#include "capture/report/report.hpp"
#include "tests/support/sample_reports.hpp"

#include <catch2/catch.hpp>

using namespace regtrace::capture;
using regtrace::capture::rules::severity;

TEST_CASE("the report orders findings by severity and numbers evidence by log.entries", "[capture][report]") {
  auto const r = test::sample_report();
  REQUIRE(r.findings.size() == 2);
  CHECK(r.findings[0].id == "C-01");
  CHECK(r.findings[1].id == "W-01");
  // Exchange 1 is log entry 2 and exchange 2 is log entry 3: the reader skipped entry 1.
  CHECK(r.findings[0].evidence.front().entry == 2);
  CHECK(r.findings[1].evidence.front().entry == 3);
  CHECK(r.counts == report::severity_counts{0, 1, 1, 0});
  CHECK(r.verdict == "FAILED: 1 error, 1 warning — title of C-01 (C-01)");
  CHECK(r.client_error == "client error of C-01");
  CHECK(r.remediation == "fix of C-01");
  CHECK(r.warnings == std::vector<std::string>{"entry 2 has no request; skipped it"});
  CHECK(r.source.file == "trace.har");
  CHECK(r.source.creator == "WebInspector");
  CHECK(r.source.entries == 3);
  CHECK_FALSE(r.source.by_regtrace);
  REQUIRE(report::worst_severity(r).has_value());
  CHECK(*report::worst_severity(r) == severity::error);
}

TEST_CASE("report rows carry position, offsets, status, error code and finding IDs", "[capture][report]") {
  auto const r = test::sample_report();
  REQUIRE(r.entries.size() == 3);
  auto const& ping = r.entries[0];
  CHECK(ping.index == 0);
  CHECK(ping.start_ms == 0);
  CHECK(ping.started == "2026-11-27T21:56:37.123Z");
  CHECK(ping.status == 401);
  CHECK(ping.finding_ids.empty());
  CHECK(ping.host == "registry.example.com:5000");
  CHECK(ping.time_ms == Approx(0.5 + 1.25 + 10 + 0.25 + 20 + 3));

  auto const& missing = r.entries[1];
  CHECK(missing.index == 2);
  CHECK(missing.start_ms == Approx(250));
  CHECK(missing.error_code == "MANIFEST_UNKNOWN");
  CHECK(missing.finding_ids == std::vector<std::string>{"C-01"});  // the file's own "X-99" is not used
  CHECK(missing.exchange == 1);

  auto const& refused = r.entries[2];
  CHECK(refused.index == 3);
  CHECK(refused.status == 0);
  CHECK(refused.failure.starts_with("upstream_connect: "));
  CHECK(refused.finding_ids == std::vector<std::string>{"W-01"});
}

TEST_CASE("verdicts for clean, warning-only and empty traces", "[capture][report]") {
  auto clean = report::make_report(test::sample_read(), "t.har", {});
  CHECK(clean.verdict == "No problems found in 3 exchanges");
  CHECK_FALSE(report::worst_severity(clean).has_value());
  CHECK(clean.client_error.empty());

  auto warned = report::make_report(test::sample_read(), "t.har",
                                    {test::sample_finding("W-01", severity::warning, 0, "d"),
                                     test::sample_finding("E-08", severity::info, 0, "d")});
  CHECK(warned.verdict == "PASSED with warnings: 1 warning, 1 info — title of W-01 (W-01)");

  auto noted = report::make_report(test::sample_read(), "t.har",
                                   {test::sample_finding("E-08", severity::info, 0, "d")});
  CHECK(noted.verdict == "No problems found in 3 exchanges; 1 info — title of E-08 (E-08)");

  auto critical = report::make_report(test::sample_read(), "t.har",
                                      {test::sample_finding("C-01", severity::error, 1, "d"),
                                       test::sample_finding("D-01", severity::critical, 0, "d"),
                                       test::sample_finding("C-06", severity::error, 0, "d")});
  CHECK(critical.verdict == "FAILED: 1 critical, 2 errors — title of D-01 (D-01)");
  CHECK(critical.client_error == "client error of D-01");
  // Row #1 is cited by D-01 and C-06: most severe first.
  CHECK(critical.entries[0].finding_ids == std::vector<std::string>{"D-01", "C-06"});

  auto empty = report::build_report(har_read_result{}, "e.har");
  CHECK(empty.verdict == "Nothing to diagnose: the trace has no complete entries");
  CHECK(empty.entries.empty());
}

TEST_CASE("build_report reads the Chrome fixture and keeps its truncation warning", "[capture][report]") {
  auto read = read_har_file(std::filesystem::path(REGTRACE_FIXTURES) / "chrome-registry.har");
  REQUIRE(read.ok);
  read.truncated = true;
  read.warnings.push_back("the file ends at byte 10");
  auto const r = report::build_report(std::move(read), "chrome.har");
  CHECK(r.source.truncated);
  CHECK(r.warnings.back() == "the file ends at byte 10");
  REQUIRE(r.entries.size() == 4);
  CHECK(r.entries[1].start_ms == Approx(80));
  CHECK(r.entries[3].start_ms == Approx(220));
  CHECK(r.entries[2].status == 404);
  CHECK(r.entries[2].error_code == "MANIFEST_UNKNOWN");
  CHECK(r.entries[2].path == "/v2/team/app/manifests/v1.2.3");
  CHECK(r.entries[1].path == "/token?…");
  CHECK(r.entries[0].timings.ssl == 20.4);
}

TEST_CASE("counts_phrase names the severities most severe first", "[capture][report]") {
  CHECK(report::counts_phrase({0, 0, 0, 0}).empty());
  CHECK(report::counts_phrase({2, 1, 0, 1}) == "1 critical, 1 warning, 2 info");
  CHECK(report::counts_phrase({0, 0, 3, 0}) == "3 errors");
}
