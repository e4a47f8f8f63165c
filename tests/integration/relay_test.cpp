// The relay is faithful and streaming: bodies, framing, HEAD, Range, redirects, keep-alive.
#include "tests/support/world.hpp"

#include "capture/har/har_reader.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace regtrace;
using namespace regtrace::test;

TEST_CASE("a 256 MiB body passes each way unchanged, its SHA-256 in the trace", "[relay][large]") {
  constexpr std::uint64_t size = 256ull << 20;
  auto const expected = pattern_sha256(size);
  world w;
  auto client = w.tunnel();

  auto download = client->request("GET", "/blob/" + std::to_string(size));
  CHECK(download.status == 200);
  CHECK(download.body_bytes == size);
  CHECK(download.body_sha256 == expected);

  auto upload = client->request("PUT", "/upload", {{"Content-Type", "application/octet-stream"}}, size);
  REQUIRE(upload.status == 201);
  auto seen = nlohmann::json::parse(upload.body);
  CHECK(seen["bytes"] == size);
  CHECK(seen["sha256"] == expected);

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 2);
  auto const& get = entry_for(entries, "/blob/" + std::to_string(size));
  CHECK(get.response_body.bytes == size);
  CHECK(get.response_body.sha256 == expected);
  CHECK(get.response_body.complete);
  CHECK_FALSE(get.response_body.text_kept);  // binary bodies are never stored
  auto const& put = entry_for(entries, "/upload");
  CHECK(put.request_body.bytes == size);
  CHECK(put.request_body.sha256 == expected);
  CHECK(put.response_body.text_kept);  // the JSON answer is text
  CHECK(put.response_body.text.find(expected) != std::string::npos);
}

TEST_CASE("HEAD keeps its Content-Length, carries no body, and the connection stays usable", "[relay]") {
  world w;
  auto client = w.tunnel();
  auto head = client->request("HEAD", "/blob/1000");
  CHECK(head.status == 200);
  CHECK(head.headers["content-length"] == "1000");
  CHECK(head.body_bytes == 0);
  auto get = client->request("GET", "/blob/10");
  CHECK(get.body_bytes == 10);
  CHECK(get.body_sha256 == pattern_sha256(10));

  auto entries = w.proxy.stop_and_read();
  auto const& recorded = entry_for(entries, "/blob/1000", "HEAD");
  CHECK(recorded.status == 200);
  CHECK(recorded.response_body.bytes == 0);
}

TEST_CASE("chunked bodies are relayed in both directions", "[relay]") {
  world w;
  auto client = w.tunnel();
  auto chunked = client->request("GET", "/chunked");
  CHECK(chunked.status == 200);
  CHECK(chunked.headers["transfer-encoding"] == "chunked");
  CHECK(chunked.body == "chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;chunk-5;chunk-6;chunk-7;chunk-8;chunk-9;");

  auto upload = client->request("POST", "/upload", {}, 100000, true);
  REQUIRE(upload.status == 201);
  CHECK(nlohmann::json::parse(upload.body)["sha256"] == pattern_sha256(100000));

  auto entries = w.proxy.stop_and_read();
  CHECK(entry_for(entries, "/chunked").response_body.text == chunked.body);
  CHECK(entry_for(entries, "/upload").request_body.bytes == 100000);
}

TEST_CASE("a Range request gets the upstream's 206 and the right bytes", "[relay]") {
  world w;
  auto client = w.tunnel();
  auto partial = client->request("GET", "/blob/1000", {{"Range", "bytes=100-"}});
  CHECK(partial.status == 206);
  CHECK(partial.headers["content-range"] == "bytes 100-999/1000");
  CHECK(partial.body_bytes == 900);
  std::string expected(900, '\0');
  fill_pattern(100, {expected.data(), expected.size()});
  sha256_stream hash;
  hash.update(expected);
  CHECK(partial.body_sha256 == hash.hex());
}

TEST_CASE("a 307 is passed through untouched, never followed, and its signature redacted", "[relay]") {
  world w;
  auto client = w.tunnel();
  auto redirect = client->request("GET", "/redirect");
  CHECK(redirect.status == 307);
  CHECK(redirect.headers["location"] == "https://storage.test/blob?sig=secret&se=2030");
  CHECK(w.upstream.requests() == 1);

  auto entries = w.proxy.stop_and_read();
  auto const& recorded = entry_for(entries, "/redirect");
  CHECK(recorded.status == 307);
  std::ifstream file(w.proxy.har_file());
  std::stringstream text;
  text << file.rdbuf();
  CHECK(text.str().find("sig=secret") == std::string::npos);
  CHECK(text.str().find("se=2030") != std::string::npos);
}

TEST_CASE("keep-alive on both legs; upstream connections are reused across client connections", "[relay]") {
  // Pools are per worker (a socket stays on its thread): one worker makes the reuse deterministic.
  world w([](proxy::proxy_config& config) { config.threads = 1; });
  {
    auto client = w.tunnel();
    CHECK(client->request("GET", "/blob/5").status == 200);
    CHECK(client->request("GET", "/blob/6").status == 200);
  }
  {
    auto second = w.tunnel();  // dockerd's way: a new client connection per request
    CHECK(second->request("GET", "/blob/7").status == 200);
  }
  CHECK(w.upstream.connections() == 1);

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 3);
  auto const& first = entry_for(entries, "/blob/5");
  auto const& again = entry_for(entries, "/blob/6");
  auto const& other = entry_for(entries, "/blob/7");
  CHECK(first.connection_id == again.connection_id);
  CHECK(first.request_index == 1);
  CHECK(again.request_index == 2);
  CHECK_FALSE(first.upstream_reused);
  CHECK(again.upstream_reused);
  CHECK(other.upstream_reused);
  CHECK(other.connection_id != first.connection_id);
  CHECK(other.upstream_connection_id == first.upstream_connection_id);
  CHECK(first.timings.connect >= 0);
  CHECK(again.timings.connect == -1);
  REQUIRE(first.upstream_tls);
  CHECK(first.upstream_tls->verified);
  REQUIRE(first.client_tls);
  CHECK(first.client_tls->sni == "registry.test");
  CHECK(first.server_ip == "127.0.0.1");
}

TEST_CASE("a close-delimited response is relayed and the client told the connection closes", "[relay]") {
  world w;
  auto client = w.tunnel();
  auto answer = client->request("GET", "/close-delimited");
  CHECK(answer.status == 200);
  CHECK(answer.body == "hello, closed world");
  CHECK_FALSE(answer.keep_alive);
}

TEST_CASE("hop-by-hop headers stay on their leg; the others go through in order", "[relay]") {
  world w;
  auto client = w.tunnel();
  auto echoed = client->request("GET", "/headers",
                                {{"X-First", "1"},
                                 {"Connection", "keep-alive, X-Drop"},
                                 {"X-Drop", "gone"},
                                 {"Keep-Alive", "timeout=5"},
                                 {"X-Last", "2"}});
  REQUIRE(echoed.status == 200);
  std::vector<std::string> names = nlohmann::json::parse(echoed.body);
  CHECK(std::find(names.begin(), names.end(), "X-Drop") == names.end());
  CHECK(std::find(names.begin(), names.end(), "Connection") == names.end());
  CHECK(std::find(names.begin(), names.end(), "Keep-Alive") == names.end());
  auto first = std::find(names.begin(), names.end(), "X-First");
  auto last = std::find(names.begin(), names.end(), "X-Last");
  REQUIRE(first != names.end());
  REQUIRE(last != names.end());
  CHECK(first < last);
}

TEST_CASE("Expect: 100-continue uploads complete", "[relay]") {
  world w;
  auto client = w.tunnel();
  auto upload = client->request("PUT", "/upload", {{"Expect", "100-continue"}}, 300000);
  REQUIRE(upload.status == 201);
  CHECK(nlohmann::json::parse(upload.body)["sha256"] == pattern_sha256(300000));
}

TEST_CASE("absolute-form requests reach a plain-HTTP registry", "[relay]") {
  world w({}, false);
  proxy_client client(w.proxy.port());
  auto answer = client.request("GET", "http://" + w.authority() + "/blob/100");
  CHECK(answer.status == 200);
  CHECK(answer.body_sha256 == pattern_sha256(100));
  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].scheme == "http");
  CHECK(entries[0].target == "/blob/100");
  CHECK_FALSE(entries[0].upstream_tls);
}

TEST_CASE("passthrough hosts are tunnelled untouched and recorded as CONNECT entries", "[relay]") {
  world w([](proxy::proxy_config& config) { config.passthrough_globs = {"*.test"}; });
  auto client = std::make_unique<proxy_client>(w.proxy.port());
  REQUIRE(client->send_connect(w.authority()) == 200);
  // The registry's own certificate arrives: trusting its CA, not regtrace's, is what works.
  REQUIRE(client->handshake("registry.test", w.pki.ca_file) == "");
  CHECK(client->request("GET", "/blob/1000").body_sha256 == pattern_sha256(1000));
  client.reset();  // the tunnel ends, and its entry is written

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].kind == capture::entry_kind::tunnel);
  CHECK(entries[0].method == "CONNECT");
  CHECK(entries[0].request_body.bytes > 0);
  CHECK(entries[0].response_body.bytes > 1000);
}
