#include "capture/redaction/redaction.hpp"

#include "capture/body/body_recorder.hpp"
#include "tests/support/exchanges.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace regtrace::capture;
using namespace regtrace::capture::test;

namespace {

constexpr char const* jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl";

// Every string of the exchange, so "the secret appears nowhere" means nowhere.
std::string all_strings(exchange const& x) {
  std::string out = x.method + '\n' + x.host + '\n' + x.target + '\n';
  for (auto const* headers : {&x.request_headers, &x.response_headers})
    for (auto const& h : *headers) out += h.name + ": " + h.value + '\n';
  out += x.request_body.text + '\n' + x.response_body.text + '\n';
  if (x.failure) out += x.failure->message + '\n' + x.failure->detail + '\n';
  return out;
}

std::string const& header(header_list const& headers, std::string_view name) {
  auto const* value = find_header(headers, name);
  REQUIRE(value != nullptr);
  return *value;
}

}  // namespace

// In URLs and form bodies the marker is percent-encoded so the URL stays valid (HAR viewers).
std::string url_marker(std::string_view secret) {
  std::string out;
  for (char c : redaction_marker(secret)) {
    if (c == '<')
      out += "%3C";
    else if (c == '>')
      out += "%3E";
    else if (c == ' ')
      out += "%20";
    else if (c == ':')
      out += "%3A";
    else
      out += c;
  }
  return out;
}

TEST_CASE("redaction_marker carries the first 8 hex digits of SHA-256", "[redaction]") {
  CHECK(redaction_marker("abc") == "<redacted sha256:ba7816bf>");
  CHECK(redaction_marker("abc") == "<redacted sha256:" + sha256_hex("abc").substr(0, 8) + ">");
  CHECK(redaction_marker("abd") != redaction_marker("abc"));
}

TEST_CASE("Bearer authorization keeps the scheme and correlates with the token response", "[redaction]") {
  auto x = exchange_to("GET", "registry-1.docker.io", "/v2/library/alpine/manifests/latest");
  x.request_headers = {{"Authorization", std::string("Bearer ") + jwt}};
  auto const r = redacted(x);
  CHECK(all_strings(r).find(jwt) == std::string::npos);
  CHECK(header(r.request_headers, "Authorization") == "Bearer " + redaction_marker(jwt));

  auto token = exchange_to("GET", "auth.docker.io", "/token?service=registry.docker.io");
  token.response_headers = {{"Content-Type", "application/json"}};
  token.response_body = text_body(std::string(R"({"token":")") + jwt + R"(","expires_in":300})");
  auto const t = redacted(token);
  CHECK(t.response_body.text.find(redaction_marker(jwt)) != std::string::npos);
}

TEST_CASE("Basic authorization keeps only the username", "[redaction]") {
  std::string const credential = "YWxpY2U6czNjcmV0";  // alice:s3cret
  auto x = exchange_to("GET", "registry.local", "/v2/");
  x.request_headers = {{"authorization", "Basic " + credential}};
  auto const r = redacted(x);
  auto const all = all_strings(r);
  CHECK(all.find(credential) == std::string::npos);
  CHECK(all.find("s3cret") == std::string::npos);
  CHECK(header(r.request_headers, "Authorization") == "Basic <redacted user=alice sha256:d5f4f2cf>");

  SECTION("ECR's AWS:<token> keeps AWS") {
    std::string const ecr = "QVdTOmVjci10b2tlbi1abTl2WW1GeS0xMjM=";  // AWS:ecr-token-Zm9vYmFy-123
    x.request_headers = {{"Authorization", "Basic " + ecr}};
    auto const e = redacted(x);
    CHECK(all_strings(e).find("ecr-token") == std::string::npos);
    CHECK(header(e.request_headers, "Authorization") ==
          "Basic <redacted user=AWS sha256:" + sha256_hex(ecr).substr(0, 8) + ">");
  }
  SECTION("a credential that does not decode has no user") {
    x.request_headers = {{"Authorization", "Basic !!not-base64!!"}};
    CHECK(header(redacted(x).request_headers, "Authorization") ==
          "Basic " + redaction_marker("!!not-base64!!"));
  }
}

TEST_CASE("Proxy-Authorization and other schemes keep their scheme", "[redaction]") {
  auto x = exchange_to("CONNECT", "registry.local", "registry.local:443");
  x.request_headers = {
      {"Proxy-Authorization", "Basic YWxpY2U6czNjcmV0"},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20240101, Signature=deadbeef"},
      {"Authorization", "opaque-secret-without-scheme"},
      {"Authorization", "Bearer"}};
  auto const r = redacted(x);
  auto const all = all_strings(r);
  CHECK(r.request_headers[0].value == "Basic <redacted user=alice sha256:d5f4f2cf>");
  CHECK(r.request_headers[1].value.starts_with("AWS4-HMAC-SHA256 <redacted sha256:"));
  CHECK(r.request_headers[2].value == redaction_marker("opaque-secret-without-scheme"));
  CHECK(r.request_headers[3].value == "Bearer");
  for (auto const* secret : {"AKIAEXAMPLE", "deadbeef", "opaque-secret", "YWxpY2U6czNjcmV0"})
    CHECK(all.find(secret) == std::string::npos);
}

TEST_CASE("cookies keep their names and Set-Cookie its attributes", "[redaction]") {
  auto x = exchange_to("GET", "harbor.example", "/c/login");
  x.request_headers = {{"Cookie", "sid=abc123secret; _gorilla_csrf=xyz789secret; lang"}};
  x.response_headers = {
      {"Set-Cookie", "sid=newsecret42; Path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT"}};
  auto const r = redacted(x);
  auto const all = all_strings(r);
  for (auto const* secret : {"abc123secret", "xyz789secret", "newsecret42"})
    CHECK(all.find(secret) == std::string::npos);
  CHECK(r.request_headers[0].value == "sid=" + redaction_marker("abc123secret") + "; _gorilla_csrf=" +
                                          redaction_marker("xyz789secret") + "; " + redaction_marker("lang"));
  CHECK(r.response_headers[0].value == "sid=" + redaction_marker("newsecret42") +
                                           "; Path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT");
}

TEST_CASE("X-Registry-Auth and X-Registry-Config are redacted whole", "[redaction]") {
  auto x = exchange_to("POST", "docker", "/images/create?fromImage=alpine");
  x.request_headers = {{"X-Registry-Auth", "eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJzM2NyZXQifQ=="},
                       {"X-Registry-Config", "eyJyZWdpc3RyeS5sb2NhbCI6e319"}};
  auto const r = redacted(x);
  CHECK(r.request_headers[0].value ==
        redaction_marker("eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJzM2NyZXQifQ=="));
  CHECK(r.request_headers[1].value == redaction_marker("eyJyZWdpc3RyeS5sb2NhbCI6e319"));
}

TEST_CASE("token request query keeps registry parameters byte for byte", "[redaction]") {
  std::string const target =
      "/token?account=bob&scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io&offline_"
      "token=true";
  auto const r = redacted(exchange_to("GET", "auth.docker.io", target));
  CHECK(r.target == target);
  CHECK(redact_query("n=100&last=abc&&flag&x=%2Fy;z&=v", false) == "n=100&last=abc&&flag&x=%2Fy;z&=v");
  CHECK(redact_query("", true).empty());
}

TEST_CASE("secret query parameters go everywhere, case-insensitively", "[redaction]") {
  CHECK(redact_query("access_token=abc&ACCESS_TOKEN=def&password=p%40ss&scope=x", false) ==
        "access_token=" + url_marker("abc") + "&ACCESS_TOKEN=" + url_marker("def") +
            "&password=" + url_marker("p@ss") + "&scope=x");
  auto const upload = redacted(exchange_to(
      "PUT", "registry.local", "/v2/app/blobs/uploads/0d5f?_state=c2VjcmV0LXN0YXRl&digest=sha256%3A6c3c"));
  CHECK(upload.target ==
        "/v2/app/blobs/uploads/0d5f?_state=" + url_marker("c2VjcmV0LXN0YXRl") + "&digest=sha256%3A6c3c");
  // A JWT in an unknown parameter is still found (catalog §5, "JWTs anywhere").
  CHECK(redact_query(std::string("jwt=") + jwt, false) == "jwt=" + url_marker(jwt));
}

TEST_CASE("S3 pre-signed request: signature and session token go, the credential scope stays",
          "[redaction]") {
  std::string const target =
      "/1234/"
      "abcd?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2F"
      "s3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-Security-Token="
      "FwoGZXIvYXdzEXAMPLE"
      "&X-Amz-SignedHeaders=host&x-id=GetObject&X-Amz-Signature=0123456789abcdef";
  auto const r = redacted(exchange_to("GET", "bucket.s3.us-east-1.amazonaws.com", target));
  auto const all = all_strings(r);
  for (auto const* secret : {"AKIAIOSFODNN7EXAMPLE", "FwoGZXIvYXdzEXAMPLE", "0123456789abcdef", "GetObject"})
    CHECK(all.find(secret) == std::string::npos);
  for (auto const* kept :
       {"X-Amz-Algorithm=AWS4-HMAC-SHA256&", "%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&",
        "X-Amz-Date=20240101T000000Z&", "X-Amz-Expires=3600&", "X-Amz-SignedHeaders=host&"})
    CHECK(r.target.find(kept) != std::string::npos);
  CHECK(r.target.find("X-Amz-Credential=" + url_marker("AKIAIOSFODNN7EXAMPLE") + "%2F20240101") !=
        std::string::npos);
  CHECK(r.target.find("x-id=" + url_marker("GetObject")) != std::string::npos);
}

TEST_CASE("Location redirects to storage are redacted with the storage rules", "[redaction]") {
  auto x = exchange_to("GET", "myacr.azurecr.io", "/v2/app/blobs/sha256:6c3c");
  x.status = 307;

  SECTION("Azure SAS keeps se, sp, sv, sr") {
    x.response_headers = {{"Location",
                           "https://myacr.westeurope.data.azurecr.io/abc/data?se=2024-01-01T00%3A10%3A00Z&"
                           "sig=AbC%2BdEfSecret%3D&sp=r&spr=https&sr=b&sv=2018-03-28&skoid=oid-secret"}};
    auto const location = header(redacted(x).response_headers, "Location");
    CHECK(location == "https://myacr.westeurope.data.azurecr.io/abc/data?se=2024-01-01T00%3A10%3A00Z&sig=" +
                          url_marker("AbC+dEfSecret=") +
                          "&sp=r&spr=https&sr=b&sv=2018-03-28&skoid=" + url_marker("oid-secret"));
  }
  SECTION("CloudFront keeps Expires, drops Signature, Key-Pair-Id and Policy") {
    x.response_headers = {{"Location",
                           "https://d111.cloudfront.net/x/"
                           "data?Expires=1700000000&Signature=cfSig~&Key-Pair-Id=K2JCJ&Policy=cGc"}};
    auto const location = header(redacted(x).response_headers, "Location");
    CHECK(location.find("Expires=1700000000&") != std::string::npos);
    for (auto const* secret : {"cfSig", "K2JCJ", "cGc"}) CHECK(location.find(secret) == std::string::npos);
  }
  SECTION("GCS drops the credential and signature") {
    x.response_headers = {
        {"Location",
         "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p"
         "&X-Goog-Date=20240101T000000Z&X-Goog-Expires=300&X-Goog-Signature=9f8e7d&"
         "response-content-type=application%2Foctet-stream"}};
    auto const location = header(redacted(x).response_headers, "Location");
    CHECK(location.find("sa%40p") == std::string::npos);
    CHECK(location.find("9f8e7d") == std::string::npos);
    CHECK(location.find("X-Goog-Expires=300&") != std::string::npos);
    CHECK(location.find("response-content-type=application%2Foctet-stream") != std::string::npos);
  }
  SECTION("Docker Hub's CDN verify= goes") {
    x.response_headers = {{"Location",
                           "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/"
                           "blobs/sha256/6c/6c3c/data?verify=1700000000-AbCdEfSecret"}};
    CHECK(header(redacted(x).response_headers, "Location").find("AbCdEfSecret") == std::string::npos);
  }
  SECTION("a redirect to an unknown host loses every query value but the known non-secrets") {
    x.response_headers = {{"Location", "https://cdn.example.net/blob?tk=opaque123&expires=1&hint=abc"}};
    CHECK(header(redacted(x).response_headers, "Location") ==
          "https://cdn.example.net/blob?tk=" + url_marker("opaque123") +
              "&expires=1&hint=" + url_marker("abc"));
  }
  SECTION("an upload Location keeps its shape, only _state goes") {
    x.status = 202;
    x.response_headers = {{"Location", "/v2/app/blobs/uploads/0d5f?_state=c3RhdGU&digest=sha256%3A6c"}};
    CHECK(header(redacted(x).response_headers, "Location") ==
          "/v2/app/blobs/uploads/0d5f?_state=" + url_marker("c3RhdGU") + "&digest=sha256%3A6c");
  }
}

TEST_CASE("form token requests keep the grant and drop the secrets", "[redaction]") {
  auto x = exchange_to("POST", "auth.docker.io", "/token");
  x.request_headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  x.request_body = text_body(
      "grant_type=password&service=registry.docker.io&client_id=docker&username=alice&password=hunter2%21&"
      "access_type=offline&scope=repository%3Alibrary%2Falpine%3Apull");
  auto const r = redacted(x);
  CHECK(r.request_body.text.find("hunter2") == std::string::npos);
  CHECK(r.request_body.text ==
        "grant_type=password&service=registry.docker.io&client_id=docker&username=alice&password=" +
            url_marker("hunter2!") + "&access_type=offline&scope=repository%3Alibrary%2Falpine%3Apull");

  x.request_body =
      text_body(std::string("grant_type=access_token&service=myacr.azurecr.io&tenant=t&access_token=") + jwt +
                "&refresh_token=rt-opaque&client_secret=cs&assertion=as&code=c0de");
  auto const acr = redacted(x);
  for (auto const* secret : {jwt, "rt-opaque", "client_secret=cs", "assertion=as", "c0de"})
    CHECK(acr.request_body.text.find(secret) == std::string::npos);
  CHECK(acr.request_body.text.find("access_token=" + url_marker(jwt)) != std::string::npos);
}

TEST_CASE("JSON token responses lose their tokens and keep the rest", "[redaction]") {
  auto x = exchange_to("GET", "auth.docker.io", "/token?service=registry.docker.io");
  x.response_headers = {{"Content-Type", "application/json"}};
  x.response_body =
      text_body(std::string(R"({"token": ")") + jwt + R"(", "access_token": ")" + jwt +
                R"(", "refresh_token": "rt-secret", "expires_in": 300, "issued_at": "2024-01-01T00:00:00Z",)"
                R"( "scope": "repository:library/alpine:pull"})");
  auto const r = redacted(x);
  auto const& text = r.response_body.text;
  CHECK(text.find(jwt) == std::string::npos);
  CHECK(text.find("rt-secret") == std::string::npos);
  CHECK(
      text ==
      std::string(R"({"token":")") + redaction_marker(jwt) + R"(","access_token":")" + redaction_marker(jwt) +
          R"(","refresh_token":")" + redaction_marker("rt-secret") +
          R"(","expires_in":300,"issued_at":"2024-01-01T00:00:00Z","scope":"repository:library/alpine:pull"})");

  SECTION("docker config and engine login answers, at any depth") {
    x.response_body = text_body(
        R"({"auths":{"r.io":{"auth":"YWxpY2U6czNjcmV0"}},"IdentityToken":"idt-secret","Status":"Login Succeeded"})");
    auto const c = redacted(x).response_body.text;
    CHECK(c.find("YWxpY2U6czNjcmV0") == std::string::npos);
    CHECK(c.find("idt-secret") == std::string::npos);
    CHECK(c.find(R"("Status":"Login Succeeded")") != std::string::npos);
  }
  SECTION("a body without secrets keeps its bytes") {
    std::string const body =
        "{ \"errors\": [ {\"code\": \"UNAUTHORIZED\", \"message\": \"authentication required\"} ] }\n";
    x.response_body = text_body(body);
    CHECK(redacted(x).response_body.text == body);
  }
  SECTION("a JSON body without a JSON content type is still parsed") {
    x.response_headers = {{"Content-Type", "text/plain"}};
    x.response_body = text_body(R"({"access_token":"opaque-at"})");
    CHECK(redacted(x).response_body.text == R"({"access_token":")" + redaction_marker("opaque-at") + "\"}");
  }
}

TEST_CASE("a truncated JSON preview is redacted by scanning", "[redaction]") {
  auto x = exchange_to("GET", "auth.docker.io", "/token");
  x.response_headers = {{"Content-Type", "application/json"}};
  x.response_body =
      text_body(R"({"expires_in": 300, "access_token" : "opaque-at-1", "token": "eyJhbGciOiJSUzI1Ni)");
  x.response_body.text_truncated = true;
  auto const text = redacted(x).response_body.text;
  CHECK(text.find("opaque-at-1") == std::string::npos);
  CHECK(text.find("eyJhbGciOiJSUzI1Ni") == std::string::npos);
  CHECK(text == R"({"expires_in": 300, "access_token" : ")" + redaction_marker("opaque-at-1") +
                    R"(", "token": ")" + redaction_marker("eyJhbGciOiJSUzI1Ni"));
}

TEST_CASE("a deeply nested JSON body is scanned instead of re-serialised", "[redaction]") {
  auto x = exchange_to("GET", "auth.docker.io", "/token");
  x.response_headers = {{"Content-Type", "application/json"}};
  std::string const depth(100000, '[');
  std::string const closing(100000, ']');
  x.response_body = text_body(depth + R"({"token":"deep-secret"})" + closing);
  auto const text = redacted(x).response_body.text;
  CHECK(text == depth + R"({"token":")" + redaction_marker("deep-secret") + "\"}" + closing);
}

TEST_CASE("redact_text finds JWTs, Bearer and Basic credentials and URL passwords", "[redaction]") {
  CHECK(redact_text("<ArgumentValue>Bearer abc.DEF-123_456</ArgumentValue>") ==
        "<ArgumentValue>Bearer " + redaction_marker("abc.DEF-123_456") + "</ArgumentValue>");
  CHECK(redact_text("auth: basic YWxpY2U6czNjcmV0,") ==
        "auth: basic " + redaction_marker("YWxpY2U6czNjcmV0") + ",");
  CHECK(redact_text(std::string("<p>token ") + jwt + "</p>") == "<p>token " + redaction_marker(jwt) + "</p>");
  CHECK(redact_text("proxy http://bob:pa55w0rd@proxy.example:3128 refused") ==
        "proxy http://bob:" + redaction_marker("pa55w0rd") + "@proxy.example:3128 refused");
  // Challenges and prose are not credentials.
  for (
      auto const* kept :
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull")",
       R"(Basic realm="Registry Realm")", "Bearer error=invalid_token", "Basic authentication required",
       "a Bearer token is needed", "eyJonly.partial", "eyJ", "https://user@host/path", "pre-eyJabc.def"})
    CHECK(redact_text(kept) == kept);
}

TEST_CASE("redact_url keeps the user and drops the password", "[redaction]") {
  CHECK(redact_url("https://bob:pa%40ss@proxy.example:3128/x?sig=s", false) ==
        "https://bob:" + redaction_marker("pa@ss") + "@proxy.example:3128/x?sig=" + url_marker("s"));
  CHECK(redact_url("https://registry.local/v2/?n=1#frag", true) == "https://registry.local/v2/?n=1#frag");
  CHECK(redact_url("/plain/path", false) == "/plain/path");
}

TEST_CASE("failure details and other headers are scanned too", "[redaction]") {
  auto x = exchange_to("GET", "registry.local", "/v2/");
  x.failure.emplace();
  x.failure->message = "refused";
  x.failure->detail = "via http://u:proxypass@proxy:3128";
  x.response_headers = {{"WWW-Authenticate", R"(Bearer realm="https://auth.docker.io/token",service="r")"},
                        {"X-Debug", std::string("echo ") + jwt}};
  auto const r = redacted(x);
  CHECK(r.failure->detail.find("proxypass") == std::string::npos);
  CHECK(r.response_headers[0].value == R"(Bearer realm="https://auth.docker.io/token",service="r")");
  CHECK(r.response_headers[1].value == "echo " + redaction_marker(jwt));
}

TEST_CASE("redacting twice is the same as redacting once", "[redaction]") {
  auto x = exchange_to("PUT", "registry.local",
                       "/v2/app/blobs/uploads/0d5f?_state=c3RhdGU&digest=sha256%3A6c&token=t1");
  x.status = 307;
  x.request_headers = {{"Authorization", "Basic YWxpY2U6czNjcmV0"},
                       {"Proxy-Authorization", std::string("Bearer ") + jwt},
                       {"Cookie", "a=1; b=2"},
                       {"X-Registry-Auth", "e30="},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
  x.response_headers = {{"Set-Cookie", "sid=s; Path=/"},
                        {"Location", "https://u:p@acct.blob.core.windows.net/c/b?sv=1&sig=s%3D&se=2"},
                        {"Content-Type", "application/json"}};
  x.request_body = text_body("password=p&username=alice&refresh_token=" + std::string(jwt));
  x.response_body = text_body(std::string(R"({"token":")") + jwt + R"(","note":"Bearer abcdef123"})");
  x.failure.emplace();
  x.failure->detail = "http://u:pw@proxy:1 Basic YWxpY2U6czNjcmV0";
  auto const once = redacted(x);
  auto const twice = redacted(once);
  CHECK(all_strings(twice) == all_strings(once));
  CHECK(all_strings(once).find("<redacted user=alice sha256:d5f4f2cf>") != std::string::npos);
  CHECK(once.request_headers == twice.request_headers);
  CHECK(once.response_headers == twice.response_headers);
  CHECK(once.request_body == twice.request_body);
  CHECK(once.response_body == twice.response_body);
}

TEST_CASE("redact_text stays linear on large and hostile bodies", "[redaction]") {
  std::string body;
  while (body.size() < 4 * 1024 * 1024) body += "eyJeyJ.eyJ Bearer Basic ://a:b ";
  body += jwt;
  auto const out = redact_text(body);
  CHECK(out.ends_with(redaction_marker(jwt)));
  std::string const long_run(3 * 1024 * 1024, 'A');
  CHECK(redact_text("eyJ" + long_run + "." + long_run) == "eyJ" + long_run + "." + long_run);
}
