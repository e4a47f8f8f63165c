// Server replay matching (issue 4): registry-shaped keys, volatile values ignored, entries consumed in
// order.
#include "capture/replay/matcher.hpp"
#include "tests/support/exchanges.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture::replay {
namespace {

using test::registry_exchange;

std::string key(std::string_view method, std::string_view target, std::string_view range = {},
                std::string_view host = "Registry.Test") {
  return match_key(method, "https", host, 5443, target, range);
}

}  // namespace

TEST_CASE("match_key keeps what identifies a registry request", "[replay]") {
  CHECK(key("GET", "/v2/app/manifests/v1") == "GET registry.test:5443 /v2/app/manifests/v1");
  CHECK(key("GET", "/v2/app/manifests/v1") != key("HEAD", "/v2/app/manifests/v1"));
  CHECK(key("GET", "/v2/app/manifests/v1") != key("GET", "/v2/app/manifests/v2"));
  CHECK(key("GET", "/v2/app/blobs/sha256:aa", "bytes=10-") != key("GET", "/v2/app/blobs/sha256:aa"));
  CHECK(match_key("GET", "https", "r.test", 443, "/v2/", "") == "GET r.test /v2/");
  CHECK(key("GET", "/token?scope=repository:app:pull&service=r") !=
        key("GET", "/token?scope=repository:app:pull,push&service=r"));
}

TEST_CASE("match_key ignores what redaction and time change", "[replay]") {
  // Upload UUIDs and _state differ in every session; the digest of the closing PUT does not.
  CHECK(key("PUT", "/v2/app/blobs/uploads/1111?_state=abc&digest=sha256:aa") ==
        key("PUT", "/v2/app/blobs/uploads/2222?_state=xyz&digest=sha256:aa"));
  CHECK(key("PUT", "/v2/app/blobs/uploads/1111?digest=sha256:aa") !=
        key("PUT", "/v2/app/blobs/uploads/1111?digest=sha256:bb"));
  // A pre-signed storage URL: every value is signature material or time.
  CHECK(key("GET", "/blob/x?sv=2021&se=2030-01-01&sr=b&sp=r&sig=AAA", "", "storage.test") ==
        key("GET", "/blob/x?sv=2021&se=2031-01-01&sr=b&sp=r&sig=%3Credacted%20sha256%3A1234%3E", "", "storage.test"));
  CHECK(key("GET", "/blob/x?X-Amz-Algorithm=A&X-Amz-Signature=1", "", "s3.test") ==
        key("GET", "/blob/x?X-Amz-Algorithm=A&X-Amz-Signature=2", "", "s3.test"));
  CHECK(key("GET", "/blob/x?sig=1", "", "storage.test") != key("GET", "/blob/y?sig=1", "", "storage.test"));
}

TEST_CASE("matcher consumes entries in order and repeats the last one", "[replay]") {
  std::vector<exchange> trace{registry_exchange("GET", "/v2/", 401),
                              registry_exchange("GET", "/v2/app/manifests/v1", 200),
                              registry_exchange("GET", "/v2/", 200),
                              registry_exchange("GET", "/v2/app/manifests/v2", 0)};
  matcher m;
  for (std::size_t i = 0; i < trace.size(); ++i) CHECK(m.add(trace[i], i) == (trace[i].status != 0));
  CHECK(m.size() == 3);  // the entry without a response cannot answer anything

  auto first = m.next(key("GET", "/v2/"));
  REQUIRE(first);
  CHECK(first->index == 0);  // the 401
  CHECK(first->answer == 0);
  CHECK_FALSE(first->repeated);
  auto second = m.next(key("GET", "/v2/"));
  REQUIRE(second);
  CHECK(second->index == 2);  // the 200
  CHECK(second->answer == 2);
  auto third = m.next(key("GET", "/v2/"));
  REQUIRE(third);
  CHECK(third->index == 2);
  CHECK(third->repeated);

  CHECK_FALSE(m.next(key("GET", "/v2/app/manifests/v2")));
  CHECK_FALSE(m.next(key("GET", "/v2/other/manifests/v1")));
}

}  // namespace regtrace::capture::replay
