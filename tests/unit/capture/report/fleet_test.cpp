// The fleet model (issue 15): findings of several traces grouped by ID and cause, where and when
// each was seen, the sort order, trace names and nodes, unreadable traces, and the slimmed reports.

#include "capture/report/fleet.hpp"
#include "capture/report/render.hpp"
#include "tests/support/sample_reports.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>

using namespace regtrace::capture;
using rules::severity;

namespace {

/// A finding of the given cause seen on the given exchanges (positions in sample_read's exchanges:
/// 0 is log entry 0 at +0 ms, 1 is entry 2 at +250 ms, 2 is entry 3 at +400 ms).
rules::finding caused(std::string id, severity level, std::string cause, std::vector<std::size_t> seen_on) {
  auto f = test::sample_finding(std::move(id), level, seen_on.empty() ? 0 : seen_on.front(), "detail");
  f.cause = std::move(cause);
  f.seen_on = std::move(seen_on);
  return f;
}

/// sample_read() as file, its times moved by shift, with the findings given.
report::report trace(std::string file, std::vector<rules::finding> findings,
                     std::chrono::hours shift = std::chrono::hours{0}) {
  auto read = test::sample_read();
  for (auto& x : read.exchanges) x.started += shift;
  return report::make_report(std::move(read), std::move(file), std::move(findings));
}

std::string at(int ms, std::chrono::hours shift = std::chrono::hours{0}) {
  return report::time_text(test::sample_time(ms) + shift);
}

}  // namespace

TEST_CASE("fleet: one finding cause over several traces is one group", "[capture][report][fleet]") {
  using std::chrono::hours;
  report::fleet_builder b;
  b.add(trace("logs/node-a.har", {caused("C-01", severity::error, "r.test/app:v1", {1})}));
  b.add(trace("logs/node-b.har",
              {caused("C-01", severity::error, "r.test/app:v1", {1, 2}),
               caused("C-01", severity::error, "r.test/app:v2", {2})},
              hours{24}));
  b.add(trace("logs/node-c.har", {}));
  auto const f = std::move(b).finish();

  REQUIRE(f.traces.size() == 3);
  CHECK(f.traces[0].name == "node-a.har");
  CHECK(f.traces[0].node == "node-a");
  CHECK(f.traces[2].summary.source.file == "logs/node-c.har");
  REQUIRE(f.findings.size() == 2);  // the same ID with another cause is another group

  auto const& v1 = f.findings[0];
  CHECK(v1.id == "C-01");
  CHECK(v1.cause == "r.test/app:v1");
  REQUIRE(v1.traces.size() == 2);
  CHECK(v1.traces[0].trace == 0);
  CHECK(v1.traces[0].requests == 1);
  CHECK(report::time_text(v1.traces[0].first_seen) == at(250));
  CHECK(report::time_text(v1.traces[0].last_seen) == at(250));
  CHECK(v1.traces[1].trace == 1);
  CHECK(v1.traces[1].requests == 2);
  CHECK(report::time_text(v1.traces[1].first_seen) == at(250, hours{24}));
  CHECK(report::time_text(v1.traces[1].last_seen) == at(400, hours{24}));
  CHECK(v1.requests == 3);
  CHECK(report::time_text(v1.first_seen) == at(250));
  CHECK(report::time_text(v1.last_seen) == at(400, hours{24}));

  auto const& v2 = f.findings[1];
  CHECK(v2.cause == "r.test/app:v2");
  REQUIRE(v2.traces.size() == 1);
  CHECK(v2.traces[0].trace == 1);

  CHECK(f.counts == report::severity_counts{0, 0, 2, 0});
  CHECK(report::worst_severity(f) == severity::error);
  CHECK(f.verdict == "FAILED on 2 of 3 traces: 2 errors — title of C-01 (C-01) on 2 traces");
}

TEST_CASE("fleet: without seen_on the evidence entries give the times; no time gives none",
          "[capture][report][fleet]") {
  auto by_evidence = test::sample_finding("C-01", severity::error, 2, "d");  // entry 3, +400 ms
  by_evidence.cause = "c";
  auto read = test::sample_read();
  for (auto& x : read.exchanges) x.started = {};  // a HAR without startedDateTime
  auto untimed = test::sample_finding("C-02", severity::error, 1, "d");
  untimed.cause = "c";

  report::fleet_builder b;
  b.add(trace("a.har", {by_evidence}));
  b.add(report::make_report(std::move(read), "b.har", {untimed}));
  auto const f = std::move(b).finish();
  REQUIRE(f.findings.size() == 2);
  auto const& timed = f.findings[0].id == "C-01" ? f.findings[0] : f.findings[1];
  auto const& none = f.findings[0].id == "C-01" ? f.findings[1] : f.findings[0];
  CHECK(report::time_text(timed.first_seen) == at(400));
  CHECK(timed.requests == 1);
  CHECK_FALSE(none.first_seen.has_value());
  CHECK_FALSE(none.last_seen.has_value());
  CHECK(none.requests == 1);
}

TEST_CASE("fleet: most severe first, then on most traces, then most requests", "[capture][report][fleet]") {
  report::fleet_builder b;
  b.add(trace("1.har",
              {caused("W-01", severity::warning, "w", {0}), caused("E-01", severity::error, "one", {0, 1, 2}),
               caused("E-02", severity::error, "two", {0})}));
  b.add(trace("2.har",
              {caused("E-02", severity::error, "two", {0}), caused("E-03", severity::error, "few", {0})}));
  b.add(trace("3.har", {caused("K-01", severity::critical, "k", {0}),
                        caused("E-04", severity::error, "few", {0, 1})}));
  auto const f = std::move(b).finish();
  std::vector<std::string> order;
  for (auto const& g : f.findings) order.push_back(g.id);
  // K-01 critical; E-02 on two traces; E-01 (3 requests) before E-04 (2) before E-03 (1); W-01 last.
  CHECK(order == std::vector<std::string>{"K-01", "E-02", "E-01", "E-04", "E-03", "W-01"});
  CHECK(f.verdict.starts_with(
      "FAILED on 3 of 3 traces: 1 critical, 4 errors, 1 warning — title of K-01 (K-01) on 1 trace"));
}

TEST_CASE("fleet: a cause seen more severely on another trace takes that severity and its texts",
          "[capture][report][fleet]") {
  auto mild = caused("X-01", severity::warning, "c", {0});
  mild.title = "mild";
  auto severe = caused("X-01", severity::error, "c", {0});
  severe.title = "severe";
  report::fleet_builder b;
  b.add(trace("a.har", {mild}));
  b.add(trace("b.har", {severe}));
  auto const f = std::move(b).finish();
  REQUIRE(f.findings.size() == 1);
  CHECK(f.findings[0].level == severity::error);
  CHECK(f.findings[0].title == "severe");
  REQUIRE(f.findings[0].traces.size() == 2);
  CHECK(f.findings[0].traces[0].trace == 0);  // the first trace's occurrence is kept
}

TEST_CASE("fleet: a cause key of several lines reads as one", "[capture][report][fleet]") {
  report::fleet_builder b;
  b.add(trace("a.har", {caused("C-01", severity::error, "r.test/app:v1\ndocker/24.0.7", {1})}));
  b.add(trace("b.har", {caused("C-01", severity::error, "r.test/app:v1\n", {1})}));
  auto const f = std::move(b).finish();
  REQUIRE(f.findings.size() == 2);  // grouped by the rules' key as it is: another client is another cause
  CHECK(f.findings[0].cause == "r.test/app:v1");  // equal in all else: by cause
  CHECK(f.findings[1].cause == "r.test/app:v1 · docker/24.0.7");
}

TEST_CASE("fleet: names, nodes, unreadable traces and the verdict", "[capture][report][fleet]") {
  report::fleet_builder b;
  b.add(trace("site1/trace.har", {}));
  b.add(trace("site2/trace.har", {}));
  b.add(trace("NODE-7.HAR", {caused("W-01", severity::warning, "w", {0})}));
  b.add(trace("capture", {}));
  b.add_unreadable("broken.har", "not a HAR: the text is not valid JSON");
  auto const f = std::move(b).finish();
  REQUIRE(f.traces.size() == 4);
  CHECK(f.traces[0].name == "site1/trace.har");  // two files named alike: the paths tell them apart
  CHECK(f.traces[0].node == "site1/trace");
  CHECK(f.traces[1].name == "site2/trace.har");
  CHECK(f.traces[2].name == "NODE-7.HAR");
  CHECK(f.traces[2].node == "NODE-7");
  CHECK(f.traces[3].node == "capture");
  REQUIRE(f.unreadable.size() == 1);
  CHECK(f.unreadable[0].file == "broken.har");
  CHECK(f.unreadable[0].reason == "not a HAR: the text is not valid JSON");
  CHECK(f.verdict ==
        "PASSED with warnings on 1 of 4 traces: 1 warning — title of W-01 (W-01) on 1 trace; 1 trace could "
        "not be "
        "read");

  // A trace that says which machine recorded it (regtrace's log.creator._node) is named by it.
  report::fleet_builder named;
  auto told = trace("site1/trace.har", {});
  told.source.node = "node-17.example";
  named.add(std::move(told));
  CHECK(std::move(named).finish().traces[0].node == "node-17.example");

  report::fleet_builder clean;
  clean.add(trace("a.har", {}));
  clean.add(trace("b.har", {}));
  auto const ok = std::move(clean).finish();
  CHECK(ok.verdict == "No problems found in 2 traces");
  CHECK_FALSE(report::worst_severity(ok).has_value());
}

TEST_CASE("fleet: a kept report drops headers and bodies but its JSON stays whole",
          "[capture][report][fleet]") {
  auto const full = test::sample_report();
  REQUIRE_FALSE(full.exchanges[1].request_headers.empty());
  REQUIRE_FALSE(full.exchanges[1].response_body.text.empty());
  auto const slim = report::slim_report(full);
  CHECK(slim.exchanges[1].request_headers.empty());
  CHECK(slim.exchanges[1].response_body.text.empty());
  CHECK(slim.exchanges[1].target == full.exchanges[1].target);
  CHECK(report::to_json(slim) == report::to_json(full));

  report::fleet_builder b;
  b.add(test::sample_report());
  auto const f = std::move(b).finish();
  CHECK(f.traces[0].summary.exchanges[1].request_headers.empty());
  CHECK(f.traces[0].summary.findings == full.findings);  // the trace's own findings, not re-diagnosed
}

TEST_CASE("fleet: without entries kept, a trace keeps its summary and its findings",
          "[capture][report][fleet]") {
  report::fleet_builder b(false);
  b.add(test::sample_report());
  auto const f = std::move(b).finish();
  auto const& r = f.traces[0].summary;
  CHECK(r.entries.empty());
  CHECK(r.exchanges.empty());
  CHECK(r.operations.empty());
  CHECK(r.findings == test::sample_report().findings);
  CHECK(r.verdict == test::sample_report().verdict);
  CHECK(r.counts == test::sample_report().counts);
  REQUIRE(f.findings.size() == 2);
  CHECK(report::time_text(f.findings[0].first_seen) == at(250));  // times taken before the entries went
}
