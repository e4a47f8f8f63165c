#pragma once
// Hand-written exchanges shared by the capture unit tests: one of each shape the writer must handle.

#include "capture/body/body_recorder.hpp"
#include "capture/model/exchange.hpp"
#include "tests/support/exchanges.hpp"
#include "tests/support/files.hpp"

#include <chrono>
#include <string>

namespace regtrace::capture::test {

/// When the samples start: trace_time() plus 123 ms, so that the HAR's milliseconds show.
inline std::chrono::system_clock::time_point sample_time(int extra_ms = 0) {
  return trace_time(123 + extra_ms);
}

/// A manifest GET with cookies, TLS on both legs, a JSON body with quotes and braces, a finding.
inline exchange manifest_get() {
  exchange x;
  x.connection_id = 42;
  x.request_index = 3;
  x.upstream_connection_id = 7;
  x.upstream_reused = true;
  x.started = sample_time();
  x.client_address = "127.0.0.1:51234";
  x.method = "GET";
  x.host = "registry.example.com";
  x.port = 5000;
  x.target = "/v2/library/alpine/manifests/3.19?ns=docker.io&flag";
  x.request_headers = {{"Host", "registry.example.com:5000"},
                       {"Accept", "application/vnd.oci.image.index.v1+json"},
                       {"Cookie", "session=abc; theme=dark"}};
  x.status = 200;
  x.reason = "OK";
  x.response_headers = {{"Content-Type", "application/vnd.oci.image.index.v1+json"},
                        {"Docker-Content-Digest", "sha256:0123"},
                        {"Set-Cookie", "sid=1; Path=/; HttpOnly"}};
  x.response_body = text_body(R"({"schemaVersion":2,"note":"a \"quoted\" } brace ] and \\ backslash"})");
  x.timings = timings_ms{
      .blocked = 0.5, .dns = 1.25, .connect = 10, .ssl = 7.5, .send = 0.25, .wait = 20, .receive = 3};
  x.server_ip = "10.0.0.5";
  x.upstream_proxy = "http://proxy.corp.example:3128";
  x.client_tls.emplace();
  x.client_tls->version = "TLSv1.3";
  x.client_tls->cipher = "TLS_AES_128_GCM_SHA256";
  x.client_tls->alpn = "http/1.1";
  x.client_tls->sni = "registry.example.com";
  x.upstream_tls.emplace();
  x.upstream_tls->version = "TLSv1.2";
  x.upstream_tls->cipher = "ECDHE-RSA-AES128-GCM-SHA256";
  x.upstream_tls->sni = "registry.example.com";
  x.upstream_tls->session_resumed = true;
  x.upstream_tls->verify_error = "self-signed certificate";
  x.upstream_tls->peer_chain = {"CN=registry.example.com; issuer: CN=registry.example.com; not after: 2027"};
  x.finding_ids = {"T-03", "A-01"};
  return x;
}

/// A blob GET over plain HTTP whose binary body was cut off by the upstream.
inline exchange broken_blob_get() {
  exchange x;
  x.connection_id = 5;
  x.request_index = 1;
  x.started = sample_time(1000);
  x.method = "GET";
  x.scheme = "http";
  x.host = "::1";
  x.port = 8080;
  x.target = "/v2/library/alpine/blobs/sha256:abcd";
  x.request_headers = {{"Host", "[::1]:8080"}};
  x.status = 200;
  x.reason = "OK";
  x.response_headers = {{"Content-Type", "application/octet-stream"}, {"Content-Length", "1048576"}};
  x.response_body.bytes = 65536;
  x.response_body.sha256 = sha256_hex("pretend");
  x.response_body.complete = false;
  x.failure =
      make_failure(phase::response_relay, make_error_code(errc::upstream_closed), "reading body\nchunk 3",
                   failing_peer::upstream);
  return x;
}

/// A form POST to a token endpoint, answered by a 307 with a Location.
inline exchange token_post() {
  exchange x;
  x.connection_id = 9;
  x.request_index = 2;
  x.started = sample_time(2000);
  x.method = "POST";
  x.host = "auth.example.com";
  x.target = "/token";
  x.request_headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  x.request_body = text_body("grant_type=password&service=registry&scope=repository%3Afoo%3Apull");
  x.status = 307;
  x.reason = "Temporary Redirect";
  x.response_headers = {{"Location", "https://other.example.com/token"}};
  x.server_ip = "192.0.2.1";
  return x;
}

/// A request that never got a response: the upstream refused the connection; regtrace answered 502.
inline exchange refused() {
  exchange x;
  x.connection_id = 11;
  x.request_index = 1;
  x.started = sample_time(3000);
  x.method = "HEAD";
  x.host = "registry.example.com";
  x.target = "/v2/";
  x.timings =
      timings_ms{.blocked = -1, .dns = 2, .connect = -1, .ssl = -1, .send = -5, .wait = 0, .receive = 0};
  x.failure = make_failure(phase::upstream_connect,
                           boost::system::errc::make_error_code(boost::system::errc::connection_refused),
                           "connecting to 10.0.0.5:443");
  return x;
}

}  // namespace regtrace::capture::test
