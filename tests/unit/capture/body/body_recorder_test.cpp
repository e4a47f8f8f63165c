// The body recorder: byte counts, SHA-256 over chunks, kept text up to the limit, text media types.

#include "capture/body/body_recorder.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>

using namespace regtrace::capture;

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
