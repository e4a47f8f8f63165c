// --upstream-proxy: regtrace behind a corporate proxy. Every upstream connection is a CONNECT tunnel
// through an in-process proxy that records what it was asked; TLS to the registry runs inside it.
#include "tests/support/world.hpp"

#include "capture/model/failure.hpp"
#include "tests/support/fake_connect_proxy.hpp"
#include "tests/support/loopback_listener.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace regtrace;
using namespace regtrace::test;

namespace {

proxy::chained_proxy on_loopback(std::uint16_t port, std::string credentials = {}) {
  return {.host = "127.0.0.1", .port = port, .credentials = std::move(credentials)};
}

std::string file_text(std::filesystem::path const& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// A proxy that answers every CONNECT with `answer`, then `page_bytes` of an error page.
fake_connect_proxy::options refusing(std::string answer, std::uint64_t page_bytes = 0) {
  fake_connect_proxy::options o;
  o.refusal = std::move(answer);
  o.refusal_body_bytes = page_bytes;
  return o;
}

bool has_finding(capture::exchange const& x, std::string const& id) {
  return std::find(x.finding_ids.begin(), x.finding_ids.end(), id) != x.finding_ids.end();
}

}  // namespace

TEST_CASE(
    "through --upstream-proxy: a pinned host is CONNECTed by address, with the proxy credentials; "
    "the trace holds none of them",
    "[upstream_proxy]") {
  fake_connect_proxy corporate;
  world w([&](proxy::proxy_config& config) {
    config.upstream_proxy = on_loopback(corporate.port(), "alice:s3cret");
  });
  auto client = w.tunnel();
  auto first = client->request("GET", "/blob/1000");
  CHECK(first.status == 200);
  CHECK(first.body_sha256 == pattern_sha256(1000));
  CHECK(client->request("GET", "/blob/10").status == 200);  // kept alive: the same tunnel, pooled

  auto const pinned = "127.0.0.1:" + std::to_string(w.upstream.port());
  auto const seen = corporate.connects();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].request_line == "CONNECT " + pinned + " HTTP/1.1");
  CHECK(seen[0].host == pinned);
  CHECK(seen[0].proxy_authorization == "Basic YWxpY2U6czNjcmV0");  // base64("alice:s3cret")
  CHECK(w.upstream.requests() == 2);

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 2);
  for (auto const& x : entries) {
    CHECK(x.upstream_proxy == "http://127.0.0.1:" + std::to_string(corporate.port()));
    REQUIRE(x.upstream_tls);  // TLS inside the tunnel, verified against the registry's name
    CHECK(x.upstream_tls->sni == "registry.test");
    CHECK(x.upstream_tls->verified);
  }
  CHECK(entries[1].upstream_reused);
  CHECK(entries[1].upstream_connection_id == entries[0].upstream_connection_id);
  auto const har = file_text(w.proxy.har_file());
  CHECK(har.find("s3cret") == std::string::npos);
  CHECK(har.find("YWxpY2U6czNjcmV0") == std::string::npos);
  CHECK(har.find("alice") == std::string::npos);
  CHECK(har.find("\"upstream_proxy\"") != std::string::npos);
}

TEST_CASE("through --upstream-proxy: an unpinned host is CONNECTed by name, for the proxy to resolve",
          "[upstream_proxy]") {
  fake_connect_proxy::options dns;
  dns.names = {{"registry.test", "127.0.0.1"}};
  fake_connect_proxy corporate(dns);
  world w([&](proxy::proxy_config& config) {
    config.resolve_rules.clear();  // regtrace itself could not resolve registry.test
    config.upstream_proxy = on_loopback(corporate.port());
  });
  auto client = w.tunnel();
  CHECK(client->request("GET", "/blob/100").body_sha256 == pattern_sha256(100));
  auto const seen = corporate.connects();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].request_line == "CONNECT " + w.authority() + " HTTP/1.1");
  CHECK(seen[0].proxy_authorization.empty());
  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  CHECK_FALSE(entries[0].failure);
  CHECK(entries[0].server_ip == "127.0.0.1");  // the proxy's address: the one regtrace connected to
}

TEST_CASE(
    "an upstream proxy that refuses CONNECT with 407: the client gets 502 naming it, and regtrace reads "
    "no more than the answer's header",
    "[upstream_proxy][failure]") {
  std::uint64_t const page_bytes = 64 << 20;
  fake_connect_proxy corporate(
      refusing("HTTP/1.1 407 Proxy Authentication Required\r\n"
               "Proxy-Authenticate: Basic realm=\"corp\"\r\n"
               "Content-Type: text/html\r\n"
               "Content-Length: " +
                   std::to_string(page_bytes) + "\r\n\r\n",
               page_bytes));
  world w([&](proxy::proxy_config& config) {
    config.upstream_proxy = on_loopback(corporate.port(), "alice:wrong");
  });
  auto client = w.tunnel();
  auto answer = client->request("GET", "/v2/");
  CHECK(answer.status == 502);
  auto const body = nlohmann::json::parse(answer.body);
  CHECK(body["regtrace"]["phase"] == "upstream_connect");
  auto const proxy_url = "http://127.0.0.1:" + std::to_string(corporate.port());
  CHECK_THAT(body["regtrace"]["error"].get<std::string>(),
             Catch::Contains("the upstream proxy " + proxy_url) &&
                 Catch::Contains("HTTP/1.1 407 Proxy Authentication Required"));
  CHECK(w.upstream.requests() == 0);
  CHECK(corporate.refusal_body_written() < page_bytes);  // the error page was never read

  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  auto const& x = entries[0];
  REQUIRE(x.failure);
  CHECK(x.failure->where == capture::phase::upstream_connect);
  CHECK(x.failure->code_category == "regtrace");
  CHECK(x.failure->code_value == static_cast<int>(capture::errc::upstream_proxy_refused));
  CHECK_THAT(x.failure->detail, Catch::Contains("407") && Catch::Contains(proxy_url));
  CHECK(x.status == 502);
  CHECK(x.generated_response);
  CHECK(x.upstream_proxy == proxy_url);
  CHECK(has_finding(x, "A-02"));
  CHECK_FALSE(has_finding(x, "A-08"));
}

TEST_CASE("an upstream proxy's reason phrase in Latin-1 reaches the client's JSON as ASCII",
          "[upstream_proxy][failure]") {
  fake_connect_proxy corporate(refusing("HTTP/1.1 403 Acc\xe8s refus\xe9\r\nContent-Length: 0\r\n\r\n"));
  world w([&](proxy::proxy_config& config) { config.upstream_proxy = on_loopback(corporate.port()); });
  auto client = w.tunnel();
  auto answer = client->request("GET", "/v2/");
  CHECK(answer.status == 502);
  CHECK_THAT(nlohmann::json::parse(answer.body)["regtrace"]["error"].get<std::string>(),
             Catch::Contains("with HTTP/1.1 403 Acc?s refus?"));
  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  CHECK(has_finding(entries[0], "A-02"));
}

TEST_CASE("an upstream proxy that cannot be reached: 502 upstream_connect naming it",
          "[upstream_proxy][failure]") {
  auto const port = closed_port();
  world w([&](proxy::proxy_config& config) { config.upstream_proxy = on_loopback(port); });
  auto client = w.tunnel();
  auto answer = client->request("GET", "/v2/");
  CHECK(answer.status == 502);
  auto const body = nlohmann::json::parse(answer.body);
  CHECK(body["regtrace"]["phase"] == "upstream_connect");
  CHECK_THAT(body["regtrace"]["error"].get<std::string>(),
             Catch::Contains("the upstream proxy http://127.0.0.1:" + std::to_string(port)));
  CHECK(w.upstream.requests() == 0);
  auto entries = w.proxy.stop_and_read();
  REQUIRE(entries.size() == 1);
  REQUIRE(entries[0].failure);
  CHECK(entries[0].failure->where == capture::phase::upstream_connect);
}

TEST_CASE("passthrough tunnels and plain-HTTP registries go through the upstream proxy too",
          "[upstream_proxy]") {
  fake_connect_proxy corporate;
  SECTION("a passthrough tunnel") {
    world w([&](proxy::proxy_config& config) {
      config.passthrough_globs = {"*.test"};
      config.upstream_proxy = on_loopback(corporate.port());
    });
    auto client = std::make_unique<proxy_client>(w.proxy.port());
    REQUIRE(client->send_connect(w.authority()) == 200);
    REQUIRE(client->handshake("registry.test", w.pki.ca_file) == "");  // the registry's own certificate
    CHECK(client->request("GET", "/blob/1000").body_sha256 == pattern_sha256(1000));
    client.reset();
    auto entries = w.proxy.stop_and_read();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].kind == capture::entry_kind::tunnel);
    CHECK(entries[0].upstream_proxy == "http://127.0.0.1:" + std::to_string(corporate.port()));
    REQUIRE(corporate.connects().size() == 1);
    CHECK(corporate.connects()[0].request_line ==
          "CONNECT 127.0.0.1:" + std::to_string(w.upstream.port()) + " HTTP/1.1");
  }
  SECTION("an absolute-form request to a plain-HTTP registry (CONNECT as well, not a forwarded request)") {
    world w([&](proxy::proxy_config& config) { config.upstream_proxy = on_loopback(corporate.port()); },
            false);
    proxy_client client(w.proxy.port());
    auto answer = client.request("GET", "http://" + w.authority() + "/blob/100");
    CHECK(answer.status == 200);
    CHECK(answer.body_sha256 == pattern_sha256(100));
    REQUIRE(corporate.connects().size() == 1);
    CHECK(corporate.connects()[0].request_line ==
          "CONNECT 127.0.0.1:" + std::to_string(w.upstream.port()) + " HTTP/1.1");
    auto entries = w.proxy.stop_and_read();
    REQUIRE(entries.size() == 1);
    CHECK_FALSE(entries[0].upstream_tls);
    CHECK_FALSE(entries[0].upstream_proxy.empty());
  }
}
