// The small pieces: failure vocabulary, exchange helpers, body recorder.

#include "capture/body/body_recorder.hpp"
#include "capture/model/exchange.hpp"
#include "capture/model/failure.hpp"

#include <catch2/catch.hpp>

#include <boost/system/errc.hpp>

using namespace regtrace::capture;

TEST_CASE("phases round-trip through their names", "[capture][failure]") {
  for (auto p :
       {phase::accept, phase::connect_request, phase::client_tls, phase::resolve, phase::upstream_connect,
        phase::upstream_tls, phase::request_relay, phase::response_relay, phase::capture}) {
    auto const name = to_string(p);
    CHECK(name != "unknown");
    CHECK(phase_from_string(name) == p);
  }
  CHECK(to_string(phase::upstream_tls) == "upstream_tls");
  CHECK_FALSE(phase_from_string("nonsense").has_value());
}

TEST_CASE("regtrace errors have their own category and a sentence each", "[capture][failure]") {
  for (int v = static_cast<int>(errc::malformed_request); v <= static_cast<int>(errc::replay_no_match); ++v) {
    boost::system::error_code const ec = static_cast<errc>(v);
    CHECK(std::string(ec.category().name()) == "regtrace");
    auto const message = ec.message();
    CHECK_FALSE(message.starts_with("Unknown"));
    CHECK(message.ends_with("."));
  }
  boost::system::error_code const ec = errc::upstream_timeout;
  CHECK(ec == errc::upstream_timeout);
  CHECK(ec != errc::client_timeout);
}

TEST_CASE("make_failure keeps category name, value and message", "[capture][failure]") {
  auto const own =
      make_failure(phase::response_relay, make_error_code(errc::upstream_closed), "reading body");
  CHECK(own.where == phase::response_relay);
  CHECK(own.code_category == "regtrace");
  CHECK(own.code_value == static_cast<int>(errc::upstream_closed));
  CHECK(own.message == make_error_code(errc::upstream_closed).message());
  CHECK(own.detail == "reading body");

  auto const sys =
      make_failure(phase::upstream_connect,
                   boost::system::errc::make_error_code(boost::system::errc::connection_refused), "");
  CHECK(sys.code_category == "generic");
  CHECK(sys.code_value == ECONNREFUSED);
  CHECK(sys.message == "Connection refused");
}

TEST_CASE("url omits the scheme's default port and brackets IPv6 hosts", "[capture][exchange]") {
  exchange x;
  x.host = "registry.example.com";
  x.target = "/v2/";
  CHECK(x.url() == "https://registry.example.com/v2/");
  x.port = 5000;
  CHECK(x.url() == "https://registry.example.com:5000/v2/");
  x.scheme = "http";
  x.port = 80;
  CHECK(x.url() == "http://registry.example.com/v2/");
  x.port = 443;
  CHECK(x.url() == "http://registry.example.com:443/v2/");
  x.scheme = "https";
  x.host = "::1";
  x.port = 8443;
  x.target = "/v2/a?b=c";
  CHECK(x.url() == "https://[::1]:8443/v2/a?b=c");
  x.port = 443;
  CHECK(x.url() == "https://[::1]/v2/a?b=c");
  x.target = "registry.example.com:443";  // a CONNECT authority is not a path
  CHECK(x.url() == "https://[::1]/");
}

TEST_CASE("total_ms sums the non-negative timings and leaves ssl out", "[capture][exchange]") {
  exchange x;
  x.timings =
      timings_ms{.blocked = -1, .dns = 2, .connect = 10, .ssl = 7, .send = 1, .wait = 20, .receive = 3};
  CHECK(x.total_ms() == Approx(36));
  x.timings = timings_ms{};
  CHECK(x.total_ms() == 0);
}

TEST_CASE("find_header is case-insensitive and returns the first match", "[capture][exchange]") {
  header_list const headers{{"Content-Type", "a"}, {"WWW-Authenticate", "Bearer x"}, {"content-type", "b"}};
  REQUIRE(find_header(headers, "content-TYPE") != nullptr);
  CHECK(*find_header(headers, "content-TYPE") == "a");
  CHECK(*find_header(headers, "www-authenticate") == "Bearer x");
  CHECK(find_header(headers, "Location") == nullptr);
  CHECK(find_header(headers, "Content-Typ") == nullptr);
}

TEST_CASE("entry kinds round-trip through their names", "[capture][exchange]") {
  for (auto k : {entry_kind::exchange, entry_kind::tunnel, entry_kind::connect_failed,
                 entry_kind::client_tls_rejected}) {
    CHECK(entry_kind_from_string(to_string(k)) == k);
  }
  CHECK(to_string(entry_kind::client_tls_rejected) == "client_tls_rejected");
  CHECK_FALSE(entry_kind_from_string("other").has_value());
}

TEST_CASE("sha256_hex matches the FIPS 180-2 examples", "[capture][body]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("body_recorder hashes chunked input like one-shot input", "[capture][body]") {
  std::string payload;
  for (int i = 0; i < 1000; ++i) payload += static_cast<char>(i * 7 % 256);
  body_recorder recorder(false, 64);
  for (std::size_t at = 0; at < payload.size(); at += 3)
    recorder.observe(std::string_view(payload).substr(at, 3));
  auto const record = recorder.finish(true);
  CHECK(record.bytes == payload.size());
  CHECK(record.sha256 == sha256_hex(payload));
  CHECK(record.complete);
  CHECK_FALSE(record.text_kept);
  CHECK(record.text.empty());

  body_recorder abc(false, 64);
  abc.observe("a");
  abc.observe("");
  abc.observe("bc");
  CHECK(abc.finish(false).sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("body_recorder of an empty body has no hash", "[capture][body]") {
  body_recorder recorder(true, 64);
  auto const record = recorder.finish(true);
  CHECK(record.bytes == 0);
  CHECK(record.sha256.empty());
  CHECK_FALSE(record.text_kept);
}

TEST_CASE("body_recorder keeps text up to the limit", "[capture][body]") {
  SECTION("under the limit") {
    body_recorder recorder(true, 10);
    recorder.observe("hel");
    recorder.observe("lo");
    auto const record = recorder.finish(true);
    CHECK(record.text_kept);
    CHECK(record.text == "hello");
    CHECK_FALSE(record.text_truncated);
  }
  SECTION("exactly at the limit") {
    body_recorder recorder(true, 5);
    recorder.observe("hello");
    auto const record = recorder.finish(true);
    CHECK(record.text == "hello");
    CHECK_FALSE(record.text_truncated);
  }
  SECTION("over the limit, fed in 3-byte pieces") {
    std::string const payload = "abcdefghijklmnopqrstuvwxy";
    body_recorder recorder(true, 10);
    for (std::size_t at = 0; at < payload.size(); at += 3)
      recorder.observe(std::string_view(payload).substr(at, 3));
    auto const record = recorder.finish(false);
    CHECK(record.text == "abcdefghij");
    CHECK(record.text_truncated);
    CHECK(record.bytes == payload.size());
    CHECK(record.sha256 == sha256_hex(payload));
    CHECK_FALSE(record.complete);
  }
}

TEST_CASE("a moved-from body_recorder is harmless", "[capture][body]") {
  body_recorder first(true, 10);
  first.observe("abc");
  body_recorder second(std::move(first));
  first.observe("ignored");  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(first.finish(true).bytes == 0);
  CHECK(second.finish(true).text == "abc");
}

TEST_CASE("is_text_media_type recognises text, JSON, XML and forms", "[capture][body]") {
  for (auto type :
       {"application/json", "Application/JSON; charset=utf-8", "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json", "application/xml", "application/atom+xml",
        "text/html; charset=UTF-8", "TEXT/plain", "application/x-www-form-urlencoded",
        "application/javascript", " application/json "}) {
    INFO(type);
    CHECK(is_text_media_type(type));
  }
  for (auto type : {"application/octet-stream", "application/vnd.oci.image.layer.v1.tar+gzip",
                    "application/vnd.docker.image.rootfs.diff.tar.gzip", "", "image/png", "application/jsonx",
                    "multipart/form-data; boundary=x"}) {
    INFO(type);
    CHECK_FALSE(is_text_media_type(type));
  }
}
