// Issue 12, one cause, one finding: the same failure on several requests is one finding listing every
// request, in the final diagnosis and in the live window; a flow the client recovered says so and is
// less severe.
#include "tests/support/registry_traces.hpp"

#include <catch2/catch.hpp>

using namespace regtrace::capture;
using namespace regtrace::capture::test;
using Catch::Matchers::Contains;
using rules::severity;
using ids = std::vector<std::size_t>;

namespace {

constexpr char const* alice = "Basic YWxpY2U6c2VjcmV0";        // alice:secret
constexpr char const* alice_again = "Basic YWxpY2U6cmlnaHQ=";  // alice:right

// A registry that checks Basic itself (htpasswd) refuses the credentials of a blob HEAD.
void refused_head(trace_builder& t, char blob) {
  auto& head = t.add("HEAD", "/v2/app/blobs/" + digest(blob), 401,
                     registry_error("UNAUTHORIZED", "authentication required"));
  head.request_headers.push_back({"Authorization", alice});
  head.response_headers.push_back({"WWW-Authenticate", R"(Basic realm="Registry Realm")"});
}

void rate_limited(trace_builder& t, std::string const& target) {
  t.add("GET", target, 429, registry_error("TOOMANYREQUESTS", "Rate exceeded"))
      .response_headers.push_back({"Retry-After", "2"});
}

std::string blob(char c) {
  return "/v2/app/blobs/" + digest(c);
}

}  // namespace

TEST_CASE("a bad password on every blob HEAD of a push is one B-05 listing every HEAD", "[rules][causes]") {
  trace_builder t;
  for (char c : {'1', '2', '3'}) refused_head(t, c);
  auto found = with_id(t.diagnose(), "B-05");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::critical);
  CHECK(evidence_entries(found[0]) == ids{0, 1, 2});
  CHECK(found[0].seen_on == ids{0, 1, 2});
  CHECK(rules::times_seen(found[0]) == 3);
  CHECK_THAT(found[0].explanation,
             Contains("Basic credentials") && Contains("Seen on 3 requests (#1, #2, #3)."));

  SECTION("after a re-login the push completes: kept, recovered, WARNING") {
    t.add("HEAD", blob('1'), 404).request_headers.push_back({"Authorization", alice_again});
    t.add("POST", "/v2/app/blobs/uploads/", 202).request_headers.push_back({"Authorization", alice_again});
    t.add("PUT", "/v2/app/blobs/uploads/u1?digest=" + digest('1'), 201)
        .request_headers.push_back({"Authorization", alice_again});
    t.add("PUT", "/v2/app/manifests/v1", 201).request_headers.push_back({"Authorization", alice_again});
    found = with_id(t.diagnose(), "B-05");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::warning);
    CHECK(evidence_entries(found[0]) == ids{0, 1, 2});
    CHECK(found[0].recovered_on == ids{0, 1, 2});
    CHECK_THAT(found[0].explanation,
               Contains("Recovered: the push completed later (#7 accepted the manifest).") &&
                   Contains("The client recovered from every one."));
  }
}

TEST_CASE("a 403 DENIED manifest PUT that succeeds after a re-login is a recovered B-09", "[rules][causes]") {
  trace_builder t;
  t.token_flow("app", "pull,push");
  auto& put = t.add("PUT", "/v2/app/manifests/v1", 403,
                    registry_error("DENIED", "requested access to the resource is denied"));
  put.request_headers.push_back({"Authorization", "Bearer <redacted sha256:3f9a12bc>"});
  auto found = with_id(t.diagnose(), "B-09");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);

  t.add("PUT", "/v2/app/manifests/v1", 201)
      .request_headers.push_back({"Authorization", "Bearer <redacted sha256:77aa01de>"});
  found = with_id(t.diagnose(), "B-09");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::warning);
  CHECK_THAT(found[0].explanation, Contains("Recovered: the client retried and #4 succeeded."));
}

TEST_CASE("429 on three layers is one C-13; retries that succeed make it a WARNING", "[rules][causes]") {
  trace_builder t;
  t.user_agent = containerd_ua;
  for (char c : {'1', '2', '3'}) rate_limited(t, blob(c));
  auto found = with_id(t.diagnose(), "C-13");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::error);
  CHECK(evidence_entries(found[0]) == ids{0, 1, 2});
  CHECK_THAT(found[0].explanation, Contains("answered 429 TOOMANYREQUESTS") && Contains("Retry-After: 2") &&
                                       Contains("Seen on 3 requests (#1, #2, #3)."));
  CHECK_THAT(found[0].explanation, !Contains("Recovered"));

  SECTION("every layer succeeds on a retry") {
    for (char c : {'1', '2', '3'}) t.add("GET", blob(c), 200);
    found = with_id(t.diagnose(), "C-13");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::warning);
    CHECK(found[0].recovered_on == ids{0, 1, 2});
    CHECK_THAT(found[0].explanation, Contains("Recovered: the client retried and #4 succeeded.") &&
                                         Contains("The client recovered from every one."));
  }
  SECTION("one layer never succeeds: still an ERROR, which says how many recovered") {
    for (char c : {'1', '2'}) t.add("GET", blob(c), 200);
    found = with_id(t.diagnose(), "C-13");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::error);
    CHECK(found[0].recovered_on == ids{0, 1});
    CHECK_THAT(found[0].explanation, Contains("GET " + blob('3')) &&
                                         Contains("The client recovered from 2 of them; 1 never succeeded."));
  }
}

TEST_CASE("a 500 then a successful retry by the same client is a C-14 WARNING", "[rules][causes]") {
  trace_builder t;
  t.add("GET", "/v2/app/manifests/v1", 500, registry_error("UNKNOWN", "unknown error"));
  auto& retry = t.add("GET", "/v2/app/manifests/v1", 200, "{}", manifest_type);
  auto found = with_id(t.diagnose(), "C-14");
  REQUIRE(found.size() == 1);
  CHECK(found[0].level == severity::warning);
  CHECK(evidence_entries(found[0]) == ids{0});
  CHECK_THAT(found[0].explanation,
             Contains("500 UNKNOWN") && Contains("Recovered: the client retried and #2 succeeded."));

  SECTION("another client's success is not this client's recovery") {
    retry.client_address = "10.9.9.9:40000";
    found = with_id(t.diagnose(), "C-14");
    REQUIRE(found.size() == 1);
    CHECK(found[0].level == severity::error);
    CHECK_THAT(found[0].explanation, !Contains("Recovered"));
  }
}

TEST_CASE("the same failure on two hosts is two findings, each with its own requests", "[rules][causes]") {
  trace_builder t;
  t.add("GET", blob('1'), 503, registry_error("UNAVAILABLE", "service unavailable"));
  t.add_to("mirror.test", 443, "GET", blob('1'), 503, registry_error("UNAVAILABLE", "service unavailable"));
  t.add("GET", blob('2'), 503, registry_error("UNAVAILABLE", "service unavailable"));
  rate_limited(t, blob('3'));
  t.add_to("mirror.test", 443, "GET", blob('3'), 429, registry_error("TOOMANYREQUESTS", "Rate exceeded"));
  auto const all = t.diagnose();
  auto const errors = with_id(all, "C-14");
  REQUIRE(errors.size() == 2);
  auto const& registry = errors[0].explanation.starts_with("registry.test") ? errors[0] : errors[1];
  auto const& mirror = &registry == &errors[0] ? errors[1] : errors[0];
  CHECK(evidence_entries(registry) == ids{0, 2});
  CHECK(evidence_entries(mirror) == ids{1});
  CHECK(registry.cause != mirror.cause);
  CHECK_THAT(registry.explanation, Contains("Seen on 2 requests (#1, #3)."));
  CHECK_THAT(mirror.explanation, !Contains("Seen on"));
  CHECK(with_id(all, "C-13").size() == 2);
}

TEST_CASE("a rule's own cause keeps apart what the host alone would merge", "[rules][causes]") {
  trace_builder t;
  t.add("HEAD", "/v2/proj/app/manifests/v1", 412);
  t.add("HEAD", "/v2/proj/app/manifests/v2", 412);
  t.add("GET", "/v2/proj/app/manifests/v1", 412);
  auto const found = with_id(t.diagnose(), "C-15");  // a policy blocks an image, not the registry
  REQUIRE(found.size() == 2);
  CHECK(evidence_entries(found[0]) == ids{0, 2});
  CHECK(evidence_entries(found[1]) == ids{1});
}

TEST_CASE("many occurrences list the first five and the last", "[rules][causes]") {
  trace_builder t;
  for (char c : {'1', '2', '3', '4', '5', '6', '7', '8'}) rate_limited(t, blob(c));
  auto const found = with_id(t.diagnose(), "C-13");
  REQUIRE(found.size() == 1);
  CHECK(rules::times_seen(found[0]) == 8);
  CHECK_THAT(found[0].explanation, Contains("Seen on 8 requests (#1, #2, #3, #4, #5, … #8)."));
}

TEST_CASE("live: a cause is told once while it shows on more requests, beyond the window",
          "[rules][causes][live]") {
  rules::live_diagnostics live({.max_entries = 4, .max_text_bytes = 8u << 20, .max_evidence = 6});
  trace_builder t;
  t.user_agent = containerd_ua;
  std::size_t fresh = 0, grown = 0;
  rules::finding last;
  for (char c : {'1', '2', '3', '4', '5', '6', '7', '8', '9'}) {
    rate_limited(t, blob(c));
    auto news = live.add(t.entries.back(), t.entries.size() - 1);
    for (auto const& f : news.fresh) fresh += f.id == "C-13", last = f;
    for (auto const& f : news.grown) grown += f.id == "C-13", last = f;
  }
  CHECK(fresh == 1);
  CHECK(grown == 8);
  CHECK(last.seen_on == ids{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(last.evidence.size() == 6);  // bounded; the count goes on
  CHECK_THAT(last.explanation, Contains("Seen on 9 requests (#1, #2, #3, #4, #5, … #9)."));
  auto const all = live.findings();
  REQUIRE(with_id(all, "C-13").size() == 1);
  CHECK(with_id(all, "C-13")[0] == last);

  SECTION("a retry that succeeds lowers it, and is told as a change") {
    t.add("GET", blob('9'), 200);
    auto news = live.add(t.entries.back(), t.entries.size() - 1);
    CHECK(news.fresh.empty());
    REQUIRE(news.grown.size() == 1);
    CHECK(news.grown[0].level == severity::error);  // the earlier layers never recovered
    CHECK(news.grown[0].recovered_on == ids{8});
    CHECK_THAT(news.grown[0].explanation,
               Contains("The client recovered from 1 of them; 8 never succeeded."));
  }
  SECTION("nothing new, nothing told") {
    t.add("GET", "/v2/", 200);
    CHECK(live.add(t.entries.back(), t.entries.size() - 1).empty());
  }
}

TEST_CASE("live: a 429 told as an ERROR becomes a WARNING when its retry succeeds", "[rules][causes][live]") {
  rules::live_diagnostics live;
  trace_builder t;
  rate_limited(t, blob('1'));
  auto news = live.add(t.entries.back(), 0);
  REQUIRE(news.fresh.size() == 1);
  CHECK(news.fresh[0].level == severity::error);
  auto const cause = news.fresh[0].cause;
  t.add("GET", blob('1'), 200);
  news = live.add(t.entries.back(), 1);
  CHECK(news.fresh.empty());
  REQUIRE(news.grown.size() == 1);
  CHECK(news.grown[0].level == severity::warning);
  CHECK(news.grown[0].cause == cause);
  CHECK(live.findings().size() == 1);
}
