// Client replay's comparison: what changed between a recorded answer and today's.
#include "capture/replay/diff.hpp"
#include "tests/support/exchanges.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture::replay {

TEST_CASE("compare names a moved tag, a deleted blob and a slower answer; same is same", "[replay]") {
  auto before = test::exchange_to("GET", "r.test", "/v2/app/manifests/v1", 200);
  before.response_headers = {{"Docker-Content-Digest", "sha256:aaa"}, {"Content-Type", "application/json"}};
  before.response_body.bytes = 10;
  before.response_body.sha256 = std::string(64, 'a');
  before.timings.wait = 20;

  CHECK(compare(before, 3, before).changes.empty());

  auto moved = before;
  moved.response_headers[0].value = "sha256:bbb";
  moved.response_body.sha256 = std::string(64, 'b');
  auto diff = compare(before, 3, moved);
  CHECK(diff.recorded_entry == 3);
  REQUIRE(diff.changes.size() == 2);
  CHECK(diff.changes[0] == "Docker-Content-Digest sha256:aaa → sha256:bbb");
  CHECK_THAT(diff.changes[1], Catch::StartsWith("body sha256:aaaaaaaaaaaa"));

  auto gone = before;
  gone.status = 404;
  gone.response_headers = {{"Content-Type", "application/json"}};
  gone.response_body.text = R"({"errors":[{"code":"BLOB_UNKNOWN"}]})";
  gone.response_body.text_kept = true;
  gone.timings.wait = 900;
  diff = compare(before, 0, gone);
  CHECK(diff.changes.front() == "status 200 → 404 BLOB_UNKNOWN");
  CHECK(diff.changes.back() == "time to first byte 20 ms → 900 ms");
}

TEST_CASE("compare_findings lists the IDs that appeared and disappeared", "[replay]") {
  rules::finding a, b, c;
  a.id = "C-01";
  b.id = "B-05";
  c.id = "C-13";
  auto diff = compare_findings({a, b}, {b, c});
  REQUIRE(diff.appeared.size() == 1);
  CHECK(diff.appeared[0].id == "C-13");
  REQUIRE(diff.disappeared.size() == 1);
  CHECK(diff.disappeared[0].id == "C-01");
}

}  // namespace regtrace::capture::replay
