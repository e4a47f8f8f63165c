// Catalog group D rules on hand-written traces: redirect → storage request pairs, as recorded and
// as regtrace writes them redacted.
#include "capture/redaction/redaction.hpp"
#include "capture/rules/rules.hpp"
#include "tests/support/exchanges.hpp"
#include "tests/support/findings.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture::test {
namespace {

using rules::diagnose;
using rules::finding;
using rules::severity;
using ids = std::vector<std::size_t>;

constexpr auto acr_blob =
    "https://myreg.azurecr.io/v2/app/blobs/"
    "sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8";
// An Azure SAS URL that expired at 21:50 on the day the sample trace is recorded (21:56:37).
constexpr auto azure_sas =
    "https://myregeus.blob.core.windows.net/a1b2-docker/docker/registry/v2/blobs/sha256/4a/4abc/data?"
    "sv=2021-08-06&se=2026-11-27T21%3A50%3A00Z&sr=b&sp=r&sig=AbCdEf%2BghIjK%2FlmN%3D";
constexpr auto ecr_blob = "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/app/blobs/sha256:aa";
constexpr auto s3_url =
    "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/be1c-123456789012-app/sha256:aa?"
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261127%2Fus-east-1%2Fs3%2Faws4_"
    "request&"
    "X-Amz-Date=20261127T214000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=0123abcd";

header_list bearer() {
  return {{"Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"}};
}

exchange redirect_to(std::string method, std::string url, std::string location, int status = 307) {
  return make_exchange(std::move(method), url, status, bearer(),
                       registry_headers({{"Location", std::move(location)}}));
}

std::string xml_error(std::string_view code, std::string_view message, std::string_view extra = {}) {
  return R"(<?xml version="1.0" encoding="utf-8"?><Error><Code>)" + std::string(code) + "</Code><Message>" +
         std::string(message) + "</Message>" + std::string(extra) + "</Error>";
}

exchange azure_auth_refused() {
  auto x = with_response(
      make_exchange("GET", azure_sas, 400, bearer(), {{"x-ms-error-code", "InvalidAuthenticationInfo"}}),
      xml_error("InvalidAuthenticationInfo",
                "Authentication information is not given in the correct format. Check the value of "
                "Authorization header."),
      "application/xml");
  return x;
}

}  // namespace

TEST_CASE("healthy redirects: storage fetched without Authorization", "[rules][healthy]") {
  auto const azure = sequence({
      redirect_to("GET", acr_blob, azure_sas),
      make_exchange("GET", azure_sas, 200),
  });
  CHECK(serious(azure).empty());
  CHECK(serious(redacted(azure)).empty());
  auto const s3 = sequence({
      redirect_to("GET", ecr_blob, s3_url),
      make_exchange("GET", s3_url, 206, {{"Range", "bytes=100-"}}),
  });
  CHECK(serious(s3).empty());
  CHECK(serious(redacted(s3)).empty());
  // A same-host redirect keeping Authorization is ordinary (Go keeps it on the same host).
  auto const same_host = sequence({
      redirect_to("GET", "https://r.example/v2/app/blobs/sha256:aa", "/v2/app/blobs/sha256:aa?x=1"),
      make_exchange("GET", "https://r.example/v2/app/blobs/sha256:aa?x=1", 200, bearer(), registry_headers()),
  });
  CHECK(serious(same_host).empty());
}

TEST_CASE("D-01: Authorization forwarded to Azure storage", "[rules][D-01]") {
  auto const trace = sequence({redirect_to("GET", acr_blob, azure_sas), azure_auth_refused()});
  auto f = with_id(diagnose(trace), "D-01");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::critical);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("myregeus.blob.core.windows.net"));
  CHECK_THAT(f[0].explanation,
             Catch::Contains("Authorization: Bearer") && Catch::Contains("same credential"));
  CHECK_THAT(f[0].explanation, Catch::Contains("400 InvalidAuthenticationInfo"));
  CHECK_THAT(f[0].explanation, !Catch::Contains("eyJ"));

  // Live, the finding comes with the storage request and names it.
  auto const live = with_id(live_findings(trace), "D-01");
  REQUIRE(live.size() == 1);
  CHECK(evidence_entries(live[0]) == ids{0, 1});
}

TEST_CASE("D-01: redacted trace as regtrace writes it (S3 InvalidArgument)", "[rules][D-01]") {
  auto storage = with_response(
      make_exchange("GET", s3_url, 400, bearer()),
      xml_error(
          "InvalidArgument",
          "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string "
          "parameter or the Authorization header should be specified",
          "<ArgumentName>Authorization</ArgumentName><ArgumentValue>Bearer "
          "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln</ArgumentValue>"),
      "application/xml");
  auto const trace = redacted(sequence({redirect_to("GET", ecr_blob, s3_url), storage}));
  // The signature is redacted to the same marker in the Location and in the request target.
  REQUIRE(trace[1].target.find("X-Amz-Signature=%3Credacted%20sha256%3A") != std::string::npos);
  REQUIRE(capture::find_header(trace[0].response_headers, "Location")->find("X-Amz-Signature=%3Credacted") !=
          std::string::npos);
  auto const f = with_id(diagnose(trace), "D-01");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::critical);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("400 InvalidArgument"));
}

TEST_CASE("D-01: storage accepting the header (MinIO) is still a leak; no 30x in the trace",
          "[rules][D-01]") {
  auto const minio_url =
      "https://minio.example:9000/registry/docker/registry/v2/blobs/sha256/aa/data?"
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=minio%2F20261127%2Fus-east-1%2Fs3%2Faws4_request&"
      "X-Amz-Date=20261127T215600Z&X-Amz-Expires=1200&X-Amz-SignedHeaders=host&X-Amz-Signature=ff00";
  auto const trace = sequence({
      redirect_to("GET", "https://r.example/v2/app/blobs/sha256:aa", minio_url),
      make_exchange("GET", minio_url, 200, bearer()),
  });
  auto f = with_id(diagnose(trace), "D-01");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("leaked"));

  f = with_id(diagnose(sequence({trace[1]})), "D-01");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::critical);
  CHECK(evidence_entries(f[0]) == ids{0});
}

TEST_CASE("D-02: Azure SAS used after its expiry", "[rules][D-02]") {
  auto storage = with_response(
      make_exchange("GET", azure_sas, 403, {},
                    {{"x-ms-error-code", "AuthenticationFailed"}, {"Date", "Fri, 27 Nov 2026 21:56:38 GMT"}}),
      xml_error("AuthenticationFailed", "Server failed to authenticate the request.",
                "<AuthenticationErrorDetail>Signature not valid in the specified time frame: Start [Fri, 27 "
                "Nov 2026 "
                "21:40:00 GMT] - Expiry [Fri, 27 Nov 2026 21:50:00 GMT] - Current [Fri, 27 Nov 2026 21:56:38 "
                "GMT]</AuthenticationErrorDetail>"),
      "application/xml");
  for (bool redact : {false, true}) {
    auto trace = sequence({redirect_to("GET", acr_blob, azure_sas), storage});
    if (redact) trace = redacted(trace);
    auto const f = with_id(diagnose(trace), "D-02");
    REQUIRE(f.size() == 1);
    CHECK(f[0].level == severity::error);
    CHECK(evidence_entries(f[0]) == ids{0, 1});
    CHECK_THAT(f[0].explanation,
               Catch::Contains("se=2026-11-27T21:50:00Z") && Catch::Contains("397 s before"));
  }
}

TEST_CASE("D-02: S3 Request has expired, expiry from X-Amz-Date + X-Amz-Expires", "[rules][D-02]") {
  auto const storage = with_response(
      make_exchange("GET", s3_url, 403),
      xml_error("AccessDenied", "Request has expired",
                "<Expires>2026-11-27T21:50:00Z</Expires><ServerTime>2026-11-27T21:56:37Z</ServerTime>"),
      "application/xml");
  auto const f = with_id(diagnose(sequence({storage})), "D-02");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0});
  CHECK_THAT(f[0].explanation, Catch::Contains("X-Amz-Date=20261127T214000Z + X-Amz-Expires=600") &&
                                   Catch::Contains("397 s before"));
}

TEST_CASE("D-03: signature mismatch, CRITICAL when the request differs from the Location", "[rules][D-03]") {
  auto const mismatch = [](std::string url) {
    return with_response(
        make_exchange("GET", url, 403),
        xml_error("SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you provided."),
        "application/xml");
  };
  auto const verbatim = sequence({redirect_to("GET", ecr_blob, s3_url), mismatch(s3_url)});
  auto f = with_id(diagnose(verbatim), "D-03");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("byte for byte"));

  // The client re-encoded "%2F" in the credential scope as "/".
  std::string altered = s3_url;
  altered.replace(altered.find("AKIAEXAMPLE%2F20261127%2F"), 25, "AKIAEXAMPLE/20261127/");
  for (bool redact : {false, true}) {
    auto trace = sequence({redirect_to("GET", ecr_blob, s3_url), mismatch(altered)});
    if (redact) trace = redacted(trace);
    f = with_id(diagnose(trace), "D-03");
    REQUIRE(f.size() == 1);
    CHECK(f[0].level == severity::critical);
    CHECK(evidence_entries(f[0]) == ids{0, 1});
    CHECK_THAT(f[0].explanation, Catch::Contains("X-Amz-Credential"));
  }

  // Azure wording, no redirect in the trace.
  auto const azure =
      with_response(make_exchange("GET", azure_sas, 403, {}, {{"x-ms-error-code", "AuthenticationFailed"}}),
                    xml_error("AuthenticationFailed", "Server failed to authenticate the request.",
                              "<AuthenticationErrorDetail>Signature did not match. String to sign used was r"
                              "</AuthenticationErrorDetail>"),
                    "application/xml");
  f = with_id(diagnose(sequence({azure})), "D-03");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0});
}

TEST_CASE("D-04: storage host unreachable, edge 403, never asked", "[rules][D-04]") {
  exchange refused;
  refused.kind = capture::entry_kind::connect_failed;
  refused.method = "CONNECT";
  refused.host = "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com";
  refused.client_address = "127.0.0.1:40002";
  refused.failure =
      capture::failure_record{capture::phase::upstream_connect, "system", 111, "Connection refused", ""};
  auto f = with_id(diagnose(sequence({redirect_to("GET", ecr_blob, s3_url), refused})), "D-04");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::critical);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("Connection refused"));

  // regtrace could not connect for the request inside the tunnel and answered 502 itself.
  auto unreachable = make_exchange("GET", s3_url, 502);
  unreachable.generated_response = true;
  unreachable.failure = capture::failure_record{capture::phase::resolve, "system", 0, "Host not found", ""};
  f = with_id(diagnose(sequence({redirect_to("GET", ecr_blob, s3_url), unreachable})), "D-04");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("Host not found"));

  auto const cdn =
      "https://d2glxqk2uabbnd.cloudfront.net/layer/sha256:aa?Expires=1800000000&Signature=abc&Key-Pair-Id=K1";
  auto const edge = with_response(
      make_exchange("GET", cdn, 403, {}, {{"Server", "CloudFront"}}),
      "<html><head><title>ERROR: The request could not be satisfied</title></head></html>", "text/html");
  f = with_id(
      diagnose(sequence({redirect_to("GET", "https://public.ecr.aws/v2/app/blobs/sha256:aa", cdn), edge})),
      "D-04");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("CloudFront"));

  auto const never = sequence({
      redirect_to("GET", ecr_blob, s3_url),
      make_exchange("GET", "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/app/manifests/v1", 200,
                    bearer(), registry_headers()),
      redirect_to("GET", ecr_blob, s3_url),
  });
  f = with_id(diagnose(never), "D-04");
  REQUIRE(f.size() == 1);
  CHECK(evidence_entries(f[0]) == ids{0, 2});
  // While the storage request may still come, nothing is reported.
  CHECK(with_id(diagnose({never.begin(), never.begin() + 2}), "D-04").empty());
}

TEST_CASE("D-05: redirected to another registry, followed without credentials", "[rules][D-05]") {
  auto const trace = sequence({
      redirect_to("GET", "https://vanity.example/v2/app/manifests/v1",
                  "https://backend.example/v2/app/manifests/v1"),
      with_response(make_exchange("GET", "https://backend.example/v2/app/manifests/v1", 401, {},
                                  registry_headers({{"WWW-Authenticate", R"(Basic realm="backend")"}})),
                    R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"),
      make_exchange("GET", "https://vanity.example/v2/", 200, bearer(), registry_headers()),
  });
  auto const f = with_id(diagnose(trace), "D-05");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0, 1});
  CHECK_THAT(f[0].explanation, Catch::Contains("backend.example"));
  CHECK(with_id(diagnose({trace.begin(), trace.begin() + 2}, 0, false), "D-05").empty());
}

TEST_CASE("D-06: ten redirects in a row", "[rules][D-06]") {
  std::vector<exchange> hops;
  for (int i = 0; i < 10; ++i)
    hops.push_back(redirect_to("GET", "https://r.example/v2/app/blobs/sha256:aa?hop=" + std::to_string(i % 2),
                               "https://r.example/v2/app/blobs/sha256:aa?hop=" + std::to_string((i + 1) % 2),
                               302));
  auto f = with_id(diagnose(sequence(hops)), "D-06");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::error);
  CHECK(evidence_entries(f[0]) == ids{0, 1, 9});
  CHECK_THAT(f[0].explanation, Catch::Contains("10 redirects") && Catch::Contains("cycle"));
  hops.pop_back();
  CHECK(with_id(diagnose(sequence(hops)), "D-06").empty());
}

}  // namespace regtrace::capture::test
