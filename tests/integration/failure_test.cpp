// Failures are answered with a clear status and recorded with their phase; the proxy keeps serving.
#include "tests/support/world.hpp"

#include "capture/model/failure.hpp"
#include "capture/har/har_reader.hpp"
#include "tests/support/loopback_listener.hpp"

#include <nlohmann/json.hpp>

using namespace regtrace;
using namespace regtrace::test;

namespace {

bool is_code(capture::failure_record const& failure, capture::errc code) {
  return failure.code_category == "regtrace" && failure.code_value == static_cast<int>(code);
}

}  // namespace

TEST_CASE("an upstream that refuses the connection is answered 502 naming the phase", "[failure]") {
  auto port = closed_port();
  temp_dir dir;
  proxy_fixture proxy([&](proxy::proxy_config& config) {
    config.resolve_rules = {{"registry.test", port, "127.0.0.1"}};
  });
  proxy_client client(proxy.port());
  REQUIRE(client.send_connect("registry.test:" + std::to_string(port)) == 200);
  REQUIRE(client.handshake("registry.test", proxy.ca_file()) == "");
  auto answer = client.request("GET", "/v2/");
  CHECK(answer.status == 502);
  auto body = nlohmann::json::parse(answer.body);
  CHECK(body["regtrace"]["phase"] == "upstream_connect");

  auto entries = proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  REQUIRE(entries[0].failure);
  CHECK(entries[0].failure->where == capture::phase::upstream_connect);
  CHECK(entries[0].generated_response);
  CHECK(entries[0].status == 502);
}

TEST_CASE("an upstream certificate regtrace cannot verify is answered 502 upstream_tls", "[failure]") {
  world w([](proxy::proxy_config& config) { config.upstream_ca_files.clear(); });
  auto client = w.tunnel();
  auto answer = client->request("GET", "/blob/1");
  CHECK(answer.status == 502);
  CHECK(nlohmann::json::parse(answer.body)["regtrace"]["phase"] == "upstream_tls");
  CHECK(w.upstream.requests() == 0);

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  REQUIRE(entries[0].failure);
  CHECK(entries[0].failure->where == capture::phase::upstream_tls);
  CHECK(is_code(*entries[0].failure, capture::errc::upstream_unverified));
  REQUIRE(entries[0].upstream_tls);
  CHECK_FALSE(entries[0].upstream_tls->verified);
}

TEST_CASE("--insecure-upstream connects anyway and marks the entry", "[failure]") {
  world w([](proxy::proxy_config& config) {
    config.upstream_ca_files.clear();
    config.insecure_upstream = true;
  });
  auto client = w.tunnel();
  CHECK(client->request("GET", "/blob/1").status == 200);
  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].insecure_upstream);
}

TEST_CASE("a client that rejects regtrace's certificate is an entry, not a loss", "[failure]") {
  world w;
  proxy_client client(w.proxy.port());
  REQUIRE(client.send_connect(w.authority()) == 200);
  CHECK(client.handshake("registry.test", w.pki.ca_file) != "");  // trusts the registry's CA only

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].kind == capture::entry_kind::client_tls_rejected);
  CHECK(entries[0].host == "registry.test");
  REQUIRE(entries[0].failure);
  CHECK(entries[0].failure->where == capture::phase::client_tls);
  CHECK(is_code(*entries[0].failure, capture::errc::client_rejected_certificate));
  CHECK(entries[0].failure->detail.find("alert") != std::string::npos);
}

TEST_CASE("malformed and oversized requests are answered and recorded; other clients are served",
          "[failure]") {
  world w;
  auto garbage = proxy_client(w.proxy.port()).raw_exchange("GARBAGE\r\n\r\n");
  CHECK(garbage.starts_with("HTTP/1.1 400"));

  std::string huge =
      "CONNECT " + w.authority() + " HTTP/1.1\r\nX-Big: " + std::string(100 * 1024, 'a') + "\r\n\r\n";
  auto oversized = proxy_client(w.proxy.port()).raw_exchange(huge);
  CHECK(oversized.starts_with("HTTP/1.1 431"));

  auto no_port = proxy_client(w.proxy.port()).raw_exchange("CONNECT registry.test HTTP/1.1\r\n\r\n");
  CHECK(no_port.starts_with("HTTP/1.1 400"));

  auto origin_form = proxy_client(w.proxy.port()).raw_exchange("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(origin_form.starts_with("HTTP/1.1 400"));

  auto client = w.tunnel();
  CHECK(client->request("GET", "/blob/3").status == 200);

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 5);
  int bad_request = 0, too_large = 0;
  for (auto const& x : entries) {
    if (x.status == 400) ++bad_request;
    if (x.status == 431) ++too_large;
    if (x.status >= 400) {
      REQUIRE(x.failure);
      CHECK(x.failure->where == capture::phase::connect_request);
      CHECK(x.generated_response);
    }
  }
  CHECK(bad_request == 3);
  CHECK(too_large == 1);
}

TEST_CASE("--proxy-auth refuses clients without the credentials", "[failure]") {
  world w([](proxy::proxy_config& config) { config.proxy_auth = "user:secret"; });
  CHECK(proxy_client(w.proxy.port()).send_connect(w.authority()) == 407);
  // base64("user:secret")
  CHECK(proxy_client(w.proxy.port())
            .send_connect(w.authority(), "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n") == 200);
  auto entries = w.proxy.stop_and_read();
  REQUIRE(!entries.empty());
  CHECK(entries[0].status == 407);
}

TEST_CASE("the trace is a complete HAR after every exchange, before the proxy stops", "[failure][trace]") {
  world w;
  auto client = w.tunnel();
  for (int i = 1; i <= 3; ++i) {
    CHECK(client->request("GET", "/blob/" + std::to_string(i)).status == 200);
    // The record is written by the trace thread just after the response: wait for it (bounded).
    capture::har_read_result read;
    for (int tries = 0; tries < 400; ++tries) {
      read = capture::read_har_file(w.proxy.har_file());
      if (read.ok && read.exchanges.size() == static_cast<std::size_t>(i)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(read.ok);
    CHECK_FALSE(read.truncated);
    CHECK(read.exchanges.size() == static_cast<std::size_t>(i));
  }
}

TEST_CASE("an upstream that goes quiet mid-body is cut at the idle timeout; the client sees the cut",
          "[failure][timeout]") {
  world w([](proxy::proxy_config& config) { config.idle_timeout = std::chrono::seconds(1); });
  auto client = w.tunnel();
  CHECK_THROWS(client->request("GET", "/stall/1000000"));  // the body ends short, without close_notify

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].status == 200);
  CHECK(entries[0].response_body.bytes == 100 * 1024);
  CHECK_FALSE(entries[0].response_body.complete);
  REQUIRE(entries[0].failure);
  CHECK(entries[0].failure->where == capture::phase::response_relay);
  CHECK(entries[0].failure->code_category == "boost.beast");  // beast::error::timeout
  CHECK(entries[0].failure->detail.find("upstream") != std::string::npos);
}

TEST_CASE("an upstream that never answers gets 504 naming the phase", "[failure][timeout]") {
  world w([](proxy::proxy_config& config) { config.idle_timeout = std::chrono::seconds(1); });
  auto client = w.tunnel();
  auto answer = client->request("GET", "/silent");
  CHECK(answer.status == 504);
  CHECK(nlohmann::json::parse(answer.body)["regtrace"]["phase"] == "response_relay");
}

TEST_CASE("a body the upstream cut replays cut at the same byte: curl meets the same end", "[failure][replay]") {
  world w([](proxy::proxy_config& config) { config.idle_timeout = std::chrono::seconds(1); });
  auto const url = "https://" + w.authority() + "/stall/1000000";
  auto const curl_through = [&](proxy_fixture const& proxy, int* status) {
    return run_command("curl -sS -o /dev/null -x http://127.0.0.1:" + std::to_string(proxy.port()) + " --cacert '" +
                           proxy.ca_file().string() + "' '" + url + "' 2>&1",
                       status);
  };
  int captured_status = 0;
  auto const captured = curl_through(w.proxy, &captured_status);
  INFO("capture: " << captured);
  CHECK(captured_status != 0);
  CHECK(captured.find("bytes remaining") != std::string::npos);  // curl (18): the body ended short
  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  REQUIRE(entries[0].failure);
  CHECK(entries[0].failure->peer == capture::failing_peer::upstream);

  proxy_fixture replay([&](proxy::proxy_config& config) {
    config.replay_har = w.proxy.har_file();
    config.resolve_rules = {{"registry.test", w.upstream.port(), "127.0.0.2"}};  // nothing listens there
  });
  int replayed_status = 0;
  auto const replayed = curl_through(replay, &replayed_status);
  CHECK(replayed_status == captured_status);
  CHECK(replayed == captured);  // "transfer closed with N bytes remaining to read": the same N

  auto replay_entries = replay.stop_and_read();
  REQUIRE(replay_entries.size() == 1);
  auto const& cut = replay_entries[0];
  CHECK(cut.replayed_from);
  CHECK(cut.status == 200);
  CHECK(cut.response_body.bytes == 100 * 1024);
  CHECK_FALSE(cut.response_body.complete);
  REQUIRE(cut.failure);
  CHECK(cut.failure->where == capture::phase::response_relay);
  CHECK(cut.failure->peer == capture::failing_peer::upstream);
}
