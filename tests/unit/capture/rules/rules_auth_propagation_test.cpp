// Catalog B-11 on hand-written traces: a refusal that the same identity's new token for the same scope
// no longer meets minutes later, and the flows that only look like it.
#include "capture/rules/rules.hpp"
#include "tests/support/auth_exchanges.hpp"
#include "tests/support/exchanges.hpp"
#include "tests/support/findings.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture::test {
namespace {

using rules::diagnose;
using rules::severity;
using ids = std::vector<std::size_t>;

// A push refused with the token alice got for `scope`, a new token for `again_scope` by `again_user`
// minutes_later, and the same push accepted with it.
std::vector<exchange> denied_then_allowed(std::string const& again_user, std::string const& again_scope,
                                          double minutes_later) {
  auto const pull_only =
      jwt({{"aud", "registry.docker.io"},
           {"access", {{{"type", "repository"}, {"name", "alice/app"}, {"actions", {"pull"}}}}}});
  auto const pull_push =
      jwt({{"aud", "registry.docker.io"},
           {"access", {{{"type", "repository"}, {"name", "alice/app"}, {"actions", {"pull", "push"}}}}}});
  auto const token_url = [](std::string const& user, std::string const& scope) {
    return "https://auth.docker.io/token?account=" + user + "&scope=" + scope + "&service=registry.docker.io";
  };
  auto const upload = "https://registry-1.docker.io/v2/alice/app/blobs/uploads/";
  auto const scope_challenge =
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:alice/app:pull,push",error="insufficient_scope")";
  auto trace = sequence({
      challenge_401("GET", "https://registry-1.docker.io/v2/"),
      token_200(token_url("alice", "repository%3Aalice%2Fapp%3Apull%2Cpush"), basic_alice(), pull_only),
      with_response(
          make_exchange("POST", upload, 401, bearer(pull_only),
                        registry_headers({{"WWW-Authenticate", scope_challenge}})),
          R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})"),
      token_200(token_url(again_user, again_scope), {{"Authorization", "Basic " + again_user}}, pull_push),
      make_exchange("POST", upload, 202, bearer(pull_push),
                    registry_headers({{"Location", "/v2/alice/app/blobs/uploads/u1"}})),
  });
  auto const later = static_cast<std::int64_t>(minutes_later * 60'000);
  trace[3].started = trace_time(later);
  trace[4].started = trace_time(later + 100);
  return trace;
}

}  // namespace

TEST_CASE("B-11: denied, then allowed for the same identity and scope minutes later", "[rules][B-11]") {
  auto const trace = denied_then_allowed("alice", "repository%3Aalice%2Fapp%3Apull%2Cpush", 4);
  auto f = with_id(diagnose(trace), "B-11");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::warning);
  CHECK(evidence_entries(f[0]) == ids{2, 3, 4});
  CHECK_THAT(f[0].explanation,
             Catch::Contains("\"alice\"") && Catch::Contains("repository:alice/app:pull,push") &&
                 Catch::Contains("239.9 s later") && Catch::Contains("did not allow push") &&
                 Catch::Contains("granted repository:alice/app:pull, the new one"));
  CHECK_THAT(f[0].remediation, Catch::Contains("docker logout"));
  // Live: the success with the new token completes the signature.
  CHECK(with_id(live_findings(trace), "B-11").size() == 1);
  // Redacted as regtrace writes it, the tokens are fingerprints: the identity and scope still match.
  CHECK(with_id(diagnose(redacted(trace)), "B-11").size() == 1);
}

TEST_CASE("B-11 not raised: another identity, another scope, or no new token", "[rules][B-11]") {
  // containers/image asks again with the challenge's wider scope: a new grant, not a delay.
  CHECK(with_id(diagnose(denied_then_allowed(
                    "alice", "repository%3Aalice%2Fapp%3Apull%2Cpush+repository%3Abase%3Apull", 0.01)),
                "B-11")
            .empty());
  CHECK(with_id(diagnose(denied_then_allowed("bob", "repository%3Aalice%2Fapp%3Apull%2Cpush", 4)), "B-11")
            .empty());
  auto reused = denied_then_allowed("alice", "repository%3Aalice%2Fapp%3Apull%2Cpush", 4);
  reused.erase(reused.begin() + 3);  // the same, refused token: nothing changed on the client
  reused.back().request_headers = reused[2].request_headers;
  CHECK(with_id(diagnose(reused), "B-11").empty());
  // A token that never met a refusal: the first-401-then-token flow of every pull.
  CHECK(
      with_id(diagnose(sequence({challenge_401("GET", manifest_url), token_200(hub_token_url, basic_alice()),
                                 make_exchange("GET", manifest_url, 200, bearer(), registry_headers())})),
              "B-11")
          .empty());
}

}  // namespace regtrace::capture::test
