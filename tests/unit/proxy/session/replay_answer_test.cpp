// Server replay's choice of answer form (SPEC §6): a pure function of the recorded exchange, the
// request method and whether the body store holds the body.

#include "proxy/session/replay_answer.hpp"

#include <boost/system/errc.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <limits>

using regtrace::capture::exchange;
using regtrace::capture::failing_peer;
using regtrace::capture::make_failure;
using regtrace::capture::phase;
using regtrace::proxy::answer_form;
using regtrace::proxy::choose_answer_form;
using regtrace::proxy::cut_by_upstream;
using regtrace::proxy::max_replayed_wait;
using regtrace::proxy::replayed_wait;

namespace {

// A recorded 200 with a binary body of `bytes` (its digest known, its bytes never in a trace).
exchange recorded_blob(std::uint64_t bytes = 1024) {
  exchange x;
  x.method = "GET";
  x.status = 200;
  x.response_body.bytes = bytes;
  x.response_body.sha256 = bytes ? std::string(64, 'a') : std::string{};
  return x;
}

// A recorded 200 whose JSON body the trace kept whole.
exchange recorded_text(std::string text = R"({"schemaVersion":2})") {
  auto x = recorded_blob(text.size());
  x.response_body.text = std::move(text);
  x.response_body.text_kept = true;
  return x;
}

// The upstream stopped sending the body after `bytes`.
exchange recorded_cut(std::uint64_t bytes = 512) {
  auto x = recorded_blob(bytes);
  x.response_body.complete = false;
  x.failure = make_failure(phase::response_relay, make_error_code(boost::system::errc::connection_reset),
                           "reading the response body from the upstream", failing_peer::upstream);
  return x;
}

}  // namespace

TEST_CASE("answers without a body are sent as a header alone", "[session][replay_answer]") {
  CHECK(choose_answer_form(recorded_blob(), "HEAD", true) == answer_form::no_body);
  CHECK(choose_answer_form(recorded_blob(0), "GET", false) == answer_form::no_body);
  auto no_content = recorded_blob(0);
  no_content.status = 204;
  CHECK(choose_answer_form(no_content, "DELETE", false) == answer_form::no_body);
  auto not_modified = recorded_text();
  not_modified.status = 304;
  CHECK(choose_answer_form(not_modified, "GET", false) == answer_form::no_body);
}

TEST_CASE("a body in the store is streamed from it", "[session][replay_answer]") {
  CHECK(choose_answer_form(recorded_blob(), "GET", true) == answer_form::stored_body);
  SECTION("before the text the trace kept") {
    CHECK(choose_answer_form(recorded_text(), "GET", true) == answer_form::stored_body);
  }
}

TEST_CASE("a body the trace kept whole is sent as text", "[session][replay_answer]") {
  CHECK(choose_answer_form(recorded_text(), "GET", false) == answer_form::kept_text);
}

TEST_CASE("a body neither stored nor kept whole is missing (502)", "[session][replay_answer]") {
  CHECK(choose_answer_form(recorded_blob(), "GET", false) == answer_form::body_missing);
  auto truncated = recorded_text(std::string(100, 'x'));
  truncated.response_body.bytes = 100000;
  truncated.response_body.text_truncated = true;
  CHECK(choose_answer_form(truncated, "GET", false) == answer_form::body_missing);
}

TEST_CASE("a body the upstream cut short is cut again", "[session][replay_answer]") {
  CHECK(cut_by_upstream(recorded_cut()));
  CHECK(choose_answer_form(recorded_cut(), "GET", false) == answer_form::cut_body);
  CHECK(choose_answer_form(recorded_cut(0), "GET", false) == answer_form::cut_body);
  SECTION("before the store") {
    CHECK(choose_answer_form(recorded_cut(), "GET", true) == answer_form::cut_body);
  }
  SECTION("except for HEAD, whose answer has no body to cut") {
    CHECK(choose_answer_form(recorded_cut(), "HEAD", false) == answer_form::no_body);
  }
}

TEST_CASE("only the upstream's cut of the response body counts as a cut", "[session][replay_answer]") {
  SECTION("the client went away") {
    auto x = recorded_cut();
    x.failure->peer = failing_peer::client;
    CHECK_FALSE(cut_by_upstream(x));
    CHECK(choose_answer_form(x, "GET", false) == answer_form::body_missing);
  }
  SECTION("the request failed, not the response") {
    auto x = recorded_cut();
    x.failure->where = phase::request_relay;
    CHECK_FALSE(cut_by_upstream(x));
  }
  SECTION("the body was whole") {
    auto x = recorded_text();
    x.failure = recorded_cut().failure;
    CHECK_FALSE(cut_by_upstream(x));
    CHECK(choose_answer_form(x, "GET", false) == answer_form::kept_text);
  }
  SECTION("no failure") {
    CHECK_FALSE(cut_by_upstream(recorded_blob()));
  }
}

TEST_CASE("a recorded status that is no final HTTP status is not sent (issue 13)",
          "[session][replay_answer]") {
  // Beast throws on a status past 999; a 1xx would leave the client waiting for the real answer.
  for (int status : {0, -1, 42, 100, 101, 199, 600, 1000, 70000, std::numeric_limits<int>::max()}) {
    INFO("status " << status);
    auto x = recorded_text();
    x.status = status;
    CHECK(choose_answer_form(x, "GET", false) == answer_form::bad_status);
    CHECK(choose_answer_form(x, "HEAD", true) == answer_form::bad_status);
  }
  for (int status : {200, 404, 599}) {
    auto x = recorded_text();
    x.status = status;
    CHECK(choose_answer_form(x, "GET", false) == answer_form::kept_text);
  }
  SECTION("what the client gave up on before any answer is still the same silence") {
    auto x = recorded_blob(0);
    x.status = 0;
    x.failure = make_failure(phase::response_relay, regtrace::capture::errc::client_abandoned, "gave up",
                             failing_peer::client);
    CHECK(choose_answer_form(x, "GET", false) == answer_form::silent);
  }
}

TEST_CASE("--replay-timing waits what the trace says, within 0 and the documented maximum (issue 13)",
          "[session][replay_answer]") {
  using std::chrono::microseconds;
  CHECK(replayed_wait(17250.5) == microseconds(17250500));
  CHECK(replayed_wait(0.001) == microseconds(1));
  CHECK(replayed_wait(0) == microseconds(0));
  CHECK(replayed_wait(-1) == microseconds(0));
  CHECK(replayed_wait(-1e300) == microseconds(0));
  CHECK(replayed_wait(std::numeric_limits<double>::quiet_NaN()) == microseconds(0));
  CHECK(replayed_wait(-std::numeric_limits<double>::infinity()) == microseconds(0));
  CHECK(replayed_wait(1e300) == max_replayed_wait);
  CHECK(replayed_wait(std::numeric_limits<double>::infinity()) == max_replayed_wait);
  CHECK(replayed_wait(std::numeric_limits<double>::max()) == max_replayed_wait);
  CHECK(replayed_wait(9.3e18) == max_replayed_wait);  // past long long microseconds
  CHECK(replayed_wait(10 * 60 * 1000.0 - 1) == microseconds(599999000));
  CHECK(replayed_wait(10 * 60 * 1000.0) == max_replayed_wait);
  CHECK(max_replayed_wait == std::chrono::minutes(10));
}
