// Inputs the fuzz targets found (tests/fuzz/fuzz_redact_text, fuzz_redact_url), kept as cases.

#include "capture/redaction/redaction.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace regtrace::capture;

TEST_CASE("a credential quoted in text goes, up to its closing quote", "[redaction][fuzz]") {
  // fuzz_redact_text: `bearer   Zq9AAv6A"e` kept the token, a quote after it being taken for an auth-param's.
  CHECK(redact_text("\rbearer   Zq9AAv6A\"e") == "\rbearer   " + redaction_marker("Zq9AAv6A") + "\"e");
  CHECK(redact_text(R"({"authorization": "Basic dXNlcjpwdw=="})") ==
        R"({"authorization": "Basic )" + redaction_marker("dXNlcjpwdw==") + R"("})");
  // An auth-param still is one: a name, one '=', a quote.
  CHECK(redact_text(R"(Bearer realm="https://auth.test/token")") ==
        R"(Bearer realm="https://auth.test/token")");
  CHECK(redact_text(R"(Basic error_description="x")") == R"(Basic error_description="x")");
}

TEST_CASE("a URL password redacted inside a query value is not redacted again", "[redaction][fuzz]") {
  // fuzz_redact_url: the marker is percent-encoded in a query, so its '<' did not end the authority and
  // the second pass took the marker for a password (a new fingerprint each time).
  std::string const query = "next=https://bob:pa55w0rd@proxy.test/";
  auto const once = redact_query(query, false);
  CHECK(once.find("pa55w0rd") == std::string::npos);
  CHECK(redact_query(once, false) == once);
  auto const url = redact_url("https://registry.test/x?" + query, false);
  CHECK(redact_url(url, false) == url);
}

TEST_CASE("a credential right before a marker stays as the first pass left it", "[redaction][fuzz]") {
  // fuzz_redact_text: "Bearer abcV" + a JWT + "=.x" is a parameter, not a credential, and the JWT inside it
  // goes; the second pass then saw "Bearer abcV" followed by the JWT's marker and took it for a credential.
  std::string const text = "Bearer abcVeyJhb.cGF5.c2ln=.def";
  auto const once = redact_text(text);
  CHECK(once == "Bearer abcV" + redaction_marker("eyJhb.cGF5.c2ln") + "=.def");
  CHECK(redact_text(once) == once);
  // fuzz_redact_url: the same inside a query value, where the marker is percent-encoded.
  auto const query = redact_query("q=Basic rea=eyJhb.cGF5.c2ln", false);
  CHECK(query ==
        "q=Basic rea=%3Credacted%20sha256%3A" + redaction_marker("eyJhb.cGF5.c2ln").substr(17, 8) + "%3E");
  CHECK(redact_query(query, false) == query);
}

TEST_CASE("the user of a URL is scanned before its password goes", "[redaction][fuzz]") {
  // fuzz_redact_text: the scan jumped from "://" past the password, so a JWT in the user part survived the
  // first pass and was redacted by the second.
  std::string const text = "see https://eyJhb.cGF5.c2ln:pa55w0rd@registry.test/v2/";
  auto const once = redact_text(text);
  CHECK(once == "see https://" + redaction_marker("eyJhb.cGF5.c2ln") + ":" + redaction_marker("pa55w0rd") +
                    "@registry.test/v2/");
  CHECK(redact_text(once) == once);
}

TEST_CASE("an Authorization value redacted whole is not split at its space", "[redaction][fuzz]") {
  // fuzz_redact_body: "<redacted sha256:...>" was read as scheme "<redacted" and credential "sha256:...>".
  exchange x;
  x.request_headers = {{"Proxy-Authorization", "YWxpY2U6czNjcmV0"}};
  redact(x);
  auto const once = x.request_headers[0].value;
  CHECK(once == redaction_marker("YWxpY2U6czNjcmV0"));
  redact(x);
  CHECK(x.request_headers[0].value == once);
}

TEST_CASE("encoding a query value's markers does not expose a password to the next pass",
          "[redaction][fuzz]") {
  // fuzz_redact_url: "<redacted " written by the client stopped the authority; once the value's markers
  // were percent-encoded (because a JWT in it went), the next pass found a password behind it.
  auto const once = redact_query("q=https://b:<redacted x@h/ eyJhb.cGF5.c2ln", false);
  CHECK(once.find("eyJhb") == std::string::npos);
  CHECK(redact_query(once, false) == once);
}
