// A hostile trace replayed (issue 13, SPEC §8): a header holding CR LF, a name that is no token, a field
// past Beast's limit and a 1xx status reach the client as correctly framed answers, never as an
// injected header or a second, smuggled response; the replaying proxy keeps serving.
#include "tests/support/test_support.hpp"

#include "capture/body/body_recorder.hpp"
#include "capture/har/har_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace regtrace;
using namespace regtrace::test;

namespace {

constexpr std::uint16_t registry_port = 5000;
std::string const injection =
    "ok\r\nX-Injected: yes\r\nContent-Length: 7\r\n\r\nsmuggleHTTP/1.1 200 OK\r\nContent-Length: "
    "7\r\n\r\nsmuggle";

// A recorded 200 to GET path with a JSON body the trace kept whole.
capture::exchange recorded_get(std::string const& path, std::string const& body) {
  capture::exchange x;
  x.method = "GET";
  x.host = "registry.test";
  x.port = registry_port;
  x.target = path;
  x.status = 200;
  x.reason = "OK";
  x.response_headers = {{"Content-Type", "application/json"},
                        {"Docker-Distribution-Api-Version", "registry/2.0"}};
  x.response_body.bytes = body.size();
  x.response_body.sha256 = capture::sha256_hex(body);
  x.response_body.text = body;
  x.response_body.text_kept = true;
  return x;
}

// The hostile trace: the first answer carries a CRLF-injected value, a CRLF-injected name and reason;
// the second is the one the client must get next on the same connection; then a field Beast would
// throw on and a 101, which is no final answer.
std::filesystem::path write_hostile_har(std::filesystem::path const& dir) {
  auto injected = recorded_get("/v2/", "{}");
  injected.reason = "OK\r\nX-Injected-Reason: yes";
  injected.response_headers.insert(injected.response_headers.begin() + 1, {"X-Note", injection});
  injected.response_headers.push_back({"Bad\r\nX-Injected-Name: yes\r\nX", "v"});
  injected.response_headers.push_back({"X-Nul", std::string("a\0b", 3)});
  auto huge = recorded_get("/v2/huge", "{\"huge\":true}");
  huge.response_headers.push_back({"X-Huge", std::string(70000, 'h')});
  auto status = recorded_get("/v2/status", "{}");
  status.status = 101;  // a client would take the connection for switched to another protocol
  auto const path = dir / "hostile.har";
  capture::har_file har(path);
  for (auto const& x : {injected, recorded_get("/v2/next", "second"), huge, status})
    har.append(capture::to_har_entry(x));
  return path;
}

std::unique_ptr<proxy_fixture> replaying(std::filesystem::path const& har) {
  return std::make_unique<proxy_fixture>([&](proxy::proxy_config& config) {
    config.replay_har = har;
    config.resolve_rules = {{"registry.test", registry_port, "127.0.0.2"}};  // nothing listens there
  });
}

std::unique_ptr<proxy_client> tunnel(proxy_fixture const& proxy) {
  auto client = std::make_unique<proxy_client>(proxy.port());
  REQUIRE(client->send_connect("registry.test:" + std::to_string(registry_port)) == 200);
  REQUIRE(client->handshake("registry.test", proxy.ca_file()) == "");
  return client;
}

bool has_header(client_response const& answer, std::string const& lower_case_name) {
  return answer.headers.contains(lower_case_name);
}

}  // namespace

TEST_CASE("a CRLF in a recorded header never reaches the client: the answer stays framed",
          "[replay][hostile]") {
  temp_dir dir;
  auto const har = write_hostile_har(dir.path());
  auto proxy = replaying(har);
  {
    auto client = tunnel(*proxy);
    auto const first = client->request("GET", "/v2/");
    CHECK(first.status == 200);
    CHECK(first.body == "{}");
    CHECK_FALSE(has_header(first, "x-injected"));
    CHECK_FALSE(has_header(first, "x-injected-name"));
    CHECK_FALSE(has_header(first, "x-injected-reason"));
    CHECK_FALSE(has_header(first, "x-note"));
    CHECK_FALSE(has_header(first, "x-nul"));
    CHECK(first.headers.at("content-length") == "2");
    CHECK(first.headers.at("docker-distribution-api-version") == "registry/2.0");
    CHECK(first.headers.at("content-type") == "application/json");
    REQUIRE(first.keep_alive);
    // Framing held: the next answer on the connection is the recorded one, not the smuggled "smuggle".
    auto const second = client->request("GET", "/v2/next");
    CHECK(second.status == 200);
    CHECK(second.body == "second");
    // A field Beast would throw on is left out; the answer still comes.
    auto const huge = client->request("GET", "/v2/huge");
    CHECK(huge.status == 200);
    CHECK(huge.body == "{\"huge\":true}");
    CHECK_FALSE(has_header(huge, "x-huge"));
    // A status that is no final answer is answered 502 by regtrace, naming the entry.
    auto const status = client->request("GET", "/v2/status");
    CHECK(status.status == 502);
    CHECK(status.body.find("status 101") != std::string::npos);
  }
  auto const entries = proxy->stop_and_read();
  REQUIRE(entries.size() == 4);
  for (auto const& x : entries) {
    CHECK(x.replayed_from);
    for (auto const& h : x.response_headers) {
      INFO(h.name);
      CHECK(h.name.find_first_of("\r\n") == std::string::npos);
      CHECK(h.value.find_first_of("\r\n") == std::string::npos);
      CHECK(h.name != "X-Injected");
    }
  }
  CHECK(entries[0].reason == "OK");
  CHECK(entries[3].status == 502);
  CHECK(entries[3].generated_response);
}

TEST_CASE("the replayed head is well-formed HTTP, byte for byte", "[replay][hostile]") {
  temp_dir dir;
  auto proxy = replaying(write_hostile_har(dir.path()));
  auto client = tunnel(*proxy);
  client->send_only("GET", "/v2/");
  auto const head = client->read_head();
  INFO(head);
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.find("Injected") == std::string::npos);
  CHECK(head.find("smuggle") == std::string::npos);
  CHECK(head.find(std::string("\0", 1)) == std::string::npos);
  // Every line after the status line is "token: value", ended by CR LF and nothing else.
  std::size_t lines = 0;
  for (auto at = head.find("\r\n") + 2; at < head.size() - 2;) {
    auto const end = head.find("\r\n", at);
    auto const line = head.substr(at, end - at);
    INFO(line);
    auto const colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    CHECK(line.substr(0, colon).find_first_not_of("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
    at = end + 2;
    ++lines;
  }
  CHECK(lines == 3);  // Content-Type, Docker-Distribution-Api-Version, Content-Length
}
