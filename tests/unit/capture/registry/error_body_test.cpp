#include "capture/registry/error_body.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace reg = regtrace::capture::registry;
using format = reg::error_body::format;

TEST_CASE("distribution errors[] with detail", "[error_body]") {
  auto const b =
      reg::parse_error_body(R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required",)"
                            R"("detail":[{"Type":"repository","Name":"library/alpine","Action":"pull"}]}]})",
                            "application/json; charset=utf-8");
  CHECK(b.kind == format::registry_json);
  REQUIRE(b.errors.size() == 1);
  CHECK(b.errors[0].code == "UNAUTHORIZED");
  CHECK(b.errors[0].message == "authentication required");
  CHECK(b.errors[0].detail == R"([{"Action":"pull","Name":"library/alpine","Type":"repository"}])");
  CHECK(b.vendor_code.empty());
}

TEST_CASE("several errors, missing and null fields", "[error_body]") {
  auto const b = reg::parse_error_body(
      R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":"tag 1.0"},)"
      R"({"code":"BLOB_UNKNOWN","detail":null},"not an object"]})",
      "application/json");
  CHECK(b.kind == format::registry_json);
  REQUIRE(b.errors.size() == 2);
  CHECK(b.errors[0].detail == R"("tag 1.0")");
  CHECK(b.errors[1].code == "BLOB_UNKNOWN");
  CHECK(b.errors[1].message.empty());
  CHECK(b.errors[1].detail.empty());
}

TEST_CASE("ACR REGISTRY_DISALLOWED_OPERATION", "[error_body]") {
  auto const b = reg::parse_error_body(
      R"({"errors":[{"code":"REGISTRY_DISALLOWED_OPERATION","message":"The operation is disallowed on this registry, repository or image."}]})",
      "application/json; charset=utf-8");
  CHECK(b.kind == format::registry_json);
  REQUIRE(b.errors.size() == 1);
  CHECK(b.errors[0].code == "REGISTRY_DISALLOWED_OPERATION");
  CHECK(b.errors[0].message == "The operation is disallowed on this registry, repository or image.");
}

TEST_CASE("Harbor quota DENIED", "[error_body]") {
  std::string const message =
      "adding 1.2 GiB of storage resource, which when updated to current usage of 9.8 GiB will exceed the "
      "configured upper limit of 10.0 GiB.";
  auto const b = reg::parse_error_body(R"({"errors":[{"code":"DENIED","message":")" + message + R"("}]})",
                                       "application/json");
  CHECK(b.kind == format::registry_json);
  REQUIRE(b.errors.size() == 1);
  CHECK(b.errors[0].code == "DENIED");
  CHECK(b.errors[0].message == message);
}

TEST_CASE("empty errors array", "[error_body]") {
  auto const b = reg::parse_error_body(R"({"errors":[]})", "application/json");
  CHECK(b.kind == format::registry_json);
  CHECK(b.errors.empty());
}

TEST_CASE("Docker Hub auth details", "[error_body]") {
  auto const b = reg::parse_error_body(R"({"details":"incorrect username or password"})", "application/json");
  CHECK(b.kind == format::details_json);
  CHECK(b.message == "incorrect username or password");
  CHECK(b.errors.empty());
}

TEST_CASE("Azure Blob XML errors", "[error_body]") {
  auto const auth = reg::parse_error_body(
      "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
      "<Message>Server failed to authenticate the request. Make sure the value of Authorization header is "
      "formed correctly including the signature.\nRequestId:1b2c\nTime:2024-05-01T10:00:00Z</Message>"
      "<AuthenticationErrorDetail>Signed expiry time [Wed, 01 May 2024 09:00:00 GMT] must be after signed "
      "start time</AuthenticationErrorDetail></Error>",
      "application/xml");
  CHECK(auth.kind == format::xml);
  CHECK(auth.vendor_code == "AuthenticationFailed");
  CHECK(auth.message.starts_with("Server failed to authenticate the request."));

  auto const info = reg::parse_error_body(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>InvalidAuthenticationInfo</Code>"
      "<Message>Authentication information is not given in the correct format. Check the value of "
      "Authorization header.</Message></Error>",
      "");
  CHECK(info.kind == format::xml);
  CHECK(info.vendor_code == "InvalidAuthenticationInfo");
  CHECK(info.message ==
        "Authentication information is not given in the correct format. Check the value of Authorization "
        "header.");
}

TEST_CASE("S3 AccessDenied with entities", "[error_body]") {
  auto const b = reg::parse_error_body(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
      "<Message>Request has expired &amp; was &quot;denied&quot; &lt;x&gt; &apos;y&apos;</Message>"
      "<RequestId>ABC</RequestId><HostId>xyz=</HostId></Error>",
      "application/xml");
  CHECK(b.kind == format::xml);
  CHECK(b.vendor_code == "AccessDenied");
  CHECK(b.message == R"(Request has expired & was "denied" <x> 'y')");
}

TEST_CASE("truncated XML keeps what it has", "[error_body]") {
  auto const b =
      reg::parse_error_body("<Error><Code>SignatureDoesNotMatch</Code><Message>The request sig", "");
  CHECK(b.kind == format::xml);
  CHECK(b.vendor_code == "SignatureDoesNotMatch");
  CHECK(b.message == "The request sig");
}

TEST_CASE("nginx 413 HTML page", "[error_body]") {
  auto const b = reg::parse_error_body(
      "<html>\r\n<head><TITLE>413 Request Entity Too Large</TITLE></head>\r\n<body>\r\n"
      "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
      "</html>\r\n",
      "text/html");
  CHECK(b.kind == format::html);
  CHECK(b.message == "413 Request Entity Too Large");
}

TEST_CASE("invalid JSON with a JSON content type falls back to text", "[error_body]") {
  auto const b = reg::parse_error_body("upstream connect error or disconnect/reset before headers\nmore",
                                       "application/json");
  CHECK(b.kind == format::text);
  CHECK(b.message == "upstream connect error or disconnect/reset before headers");
  CHECK(b.errors.empty());
}

TEST_CASE("truncated JSON preview salvages complete codes", "[error_body]") {
  auto const b = reg::parse_error_body(
      R"({"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{"reason":"layer 3 has a very lo)",
      "application/json");
  CHECK(b.kind == format::registry_json);
  REQUIRE(b.errors.size() == 1);
  CHECK(b.errors[0].code == "MANIFEST_INVALID");
  CHECK(b.errors[0].message == "manifest invalid");

  auto const cut_in_code = reg::parse_error_body(R"({"errors":[{"code":"MANIF)", "application/json");
  CHECK(cut_in_code.kind == format::text);
  CHECK(cut_in_code.message == R"({"errors":[{"code":"MANIF)");
}

TEST_CASE("plain text, empty and other bodies", "[error_body]") {
  CHECK(reg::parse_error_body("", "text/plain").kind == format::none);
  CHECK(reg::parse_error_body(" \r\n ", "").kind == format::none);

  auto const text = reg::parse_error_body("\n\n  404 page not found  \nsecond", "text/plain");
  CHECK(text.kind == format::text);
  CHECK(text.message == "404 page not found");

  auto const long_line = reg::parse_error_body(std::string(500, 'x'), "");
  CHECK(long_line.message.size() == 200);

  auto const other_json = reg::parse_error_body(R"({"error":"invalid_grant"})", "application/json");
  CHECK(other_json.kind == format::text);
  CHECK(other_json.message == R"({"error":"invalid_grant"})");
}
