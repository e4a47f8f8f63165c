// The session helpers (rules_session.cpp): above all recovered(), the one answer every rule gets to
// "did the same client get past this failure" (issue 12).
#include "capture/rules/rules_detail.hpp"
#include "tests/support/registry_traces.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture::rules::detail {
namespace {

using test::digest;
using test::trace_builder;

// The entry the client recovered from entry `failed` with, or -1.
long recovered_by(trace_builder const& t, std::size_t failed, later_check also = nullptr) {
  auto const facts = analyse(t.entries, 0);
  auto const r = recovered(facts, facts[failed], also);
  return r ? static_cast<long>(r.by->index) : -1;
}

bool whole_operation(trace_builder const& t, std::size_t failed) {
  auto const facts = analyse(t.entries, 0);
  return recovered(facts, facts[failed]).whole_operation;
}

}  // namespace

TEST_CASE("recovered: the same request succeeding later, HEAD and GET alike", "[rules][session]") {
  trace_builder t;
  t.add("HEAD", "/v2/app/manifests/v1", 503);
  t.add("GET", "/v2/app/manifests/v2", 200, "{}");  // another tag
  t.add("DELETE", "/v2/app/manifests/v1", 202);     // another method
  t.add("GET", "/v2/app/manifests/v1", 404);        // an answer, not what it asked for
  CHECK(recovered_by(t, 0) == -1);
  t.add("GET", "/v2/app/manifests/v1", 200, "{}");
  CHECK(recovered_by(t, 0) == 4);
  CHECK_FALSE(whole_operation(t, 0));
}

TEST_CASE("recovered: the same blob through another URL, but not a body cut short", "[rules][session]") {
  trace_builder t;
  t.add("GET", "/v2/app/blobs/" + digest('1'), 500);
  t.add("GET", "/v2/app/blobs/" + digest('1'), 200).response_body.complete = false;
  t.add_to("mirror.test", 443, "GET", "/v2/app/blobs/" + digest('2'), 200);
  CHECK(recovered_by(t, 0) == -1);
  t.add_to("mirror.test", 443, "GET", "/v2/app/blobs/" + digest('1') + "?ns=registry.test", 200);
  CHECK(recovered_by(t, 0) == 3);  // a digest names the content, whichever host serves it
}

TEST_CASE("recovered: a tag only on the same host", "[rules][session]") {
  trace_builder t;
  t.add("GET", "/v2/app/manifests/v1", 500);
  t.add_to("mirror.test", 443, "GET", "/v2/app/manifests/v1", 200, "{}");
  CHECK(recovered_by(t, 0) == -1);
}

TEST_CASE("recovered: the push completed after a refused write or existence check", "[rules][session]") {
  trace_builder t;
  t.add("HEAD", "/v2/app/blobs/" + digest('1'), 401);
  t.add("PATCH", "/v2/app/blobs/uploads/u1", 404);
  t.add("GET", "/v2/app/manifests/v1", 401);
  t.add("PUT", "/v2/other/manifests/v1", 201);  // another repository
  CHECK(recovered_by(t, 0) == -1);
  t.add("PUT", "/v2/app/manifests/v1", 201);
  CHECK(recovered_by(t, 0) == 4);
  CHECK(whole_operation(t, 0));
  CHECK(recovered_by(t, 1) == 4);
  CHECK(recovered_by(t, 2) == -1);  // a pull read is not part of the push
}

TEST_CASE("recovered: a token request by a token from the same realm", "[rules][session]") {
  trace_builder t;
  t.add_to("auth.test", 443, "GET",
           "/token?account=alice&scope=repository%3Aapp%3Apull&service=registry.test", 401);
  t.add_to("auth.test", 443, "GET", "/other/token?scope=repository%3Aapp%3Apull", 200, R"({"token":"x"})");
  t.add_to("auth.test", 443, "GET", "/token?scope=repository%3Aapp%3Apull&service=registry.test", 401);
  CHECK(recovered_by(t, 0) == -1);
  t.add_to("auth.test", 443, "GET",
           "/token?account=alice&scope=repository%3Aapp%3Apull&service=registry.test", 200,
           R"({"token":"x"})");
  CHECK(recovered_by(t, 0) == 3);
}

TEST_CASE("recovered: only the same client, and what the rule adds", "[rules][session]") {
  trace_builder t;
  t.add("GET", "/v2/app/blobs/" + digest('1'), 429);
  t.add("GET", "/v2/app/blobs/" + digest('1'), 200).client_address = "10.9.9.9:40000";
  CHECK(recovered_by(t, 0) == -1);
  t.add("GET", "/v2/app/blobs/" + digest('1'), 200).request_headers.push_back({"Range", "bytes=10-"});
  CHECK(recovered_by(t, 0) == 2);
  auto const whole = [](entry_facts const&, entry_facts const& later) {
    return later.request_header("Range") == nullptr;
  };
  CHECK(recovered_by(t, 0, whole) == -1);
}

TEST_CASE("mark_recovered lowers, never raises, and says which request succeeded", "[rules][session]") {
  trace_builder t;
  t.add("GET", "/v2/app/blobs/" + digest('1'), 500);
  t.add("GET", "/v2/app/blobs/" + digest('1'), 200);
  auto const facts = analyse(t.entries, 0);
  auto const r = recovered(facts, facts[0]);
  finding error;
  error.id = "C-14";
  error.explanation = "It failed.";
  error.evidence = {{0, "GET"}};
  mark_recovered(error, r);
  CHECK(error.level == severity::warning);
  CHECK(error.explanation == "It failed. Recovered: the client retried and #2 succeeded.");
  CHECK(error.recovered_on == std::vector<std::size_t>{0});
  finding info = error;
  info.level = severity::info;
  mark_recovered(info, r);
  CHECK(info.level == severity::info);
  finding untouched = error;
  mark_recovered(untouched, recovery{});
  CHECK(untouched == error);
}

}  // namespace regtrace::capture::rules::detail
