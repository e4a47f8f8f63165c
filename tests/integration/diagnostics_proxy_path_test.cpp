// Catalog and regtrace's own R-03 through the proxy: what goes wrong on the way to
// the registry rather than at it (the proxy URL's scheme, a CONNECT target regtrace refuses, a host the
// client never sends through the proxy, a registry that does not speak TLS). Real curl and skopeo where
// the client's own wording matters.
#include "tests/support/cloud_world.hpp"
#include "tests/support/files.hpp"

#include <boost/asio/write.hpp>

using namespace regtrace;
using namespace regtrace::test;
using regtrace::capture::test::slurp;

namespace {

std::string const registry_host = cloud_registry::registry_host;

// The findings of the trace with this ID.
std::vector<nlohmann::json> findings_with_id(finished_trace const& t, std::string const& id) {
  std::vector<nlohmann::json> out;
  for (auto const& f : t.har["log"].value("_findings", nlohmann::json::array()))
    if (f.value("id", "") == id) out.push_back(f);
  return out;
}

}  // namespace

TEST_CASE("A-01 PROXY_SCHEME_MISMATCH: curl and skopeo speak TLS to the plain-HTTP proxy port",
          "[diagnostics][curl][skopeo]") {
  cloud_world w;
  // No replay check: the client never gets past regtrace's listener.
  auto const proxy_url = "https://127.0.0.1:" + std::to_string(w.proxy.port());
  int status = 0;
  auto const curl_output = run_command("curl -sS --proxy " + proxy_url + " --proxy-insecure '" +
                                           w.upstream.url(registry_host, "/v2/") + "' 2>&1",
                                       &status);
  INFO(curl_output);
  CHECK(status != 0);
  w.wait_for_entries(1);
  auto const certs = w.dir / "skopeo-certs";
  std::filesystem::create_directories(certs);
  auto const skopeo_output = run_command("env -u NO_PROXY -u no_proxy HTTPS_PROXY=" + proxy_url +
                                             " skopeo inspect --retry-times 0 --cert-dir '" + certs.string() +
                                             "' docker://" + w.registry() + "/app:v1 2>&1",
                                         &status);
  INFO(skopeo_output);
  CHECK(status != 0);
  CHECK(skopeo_output.find("first record does not look like a TLS handshake") != std::string::npos);
  w.wait_for_entries(2);

  auto t = w.finish();
  REQUIRE(t.entries.size() >= 2);  // skopeo may try its ping more than once
  std::vector<std::size_t> all;
  for (auto const& x : t.entries) {
    all.push_back(all.size());
    CHECK(x.unparsed_hex.starts_with("16 03 0"));
    REQUIRE(x.failure);
    CHECK(x.failure->where == capture::phase::connect_request);
  }
  require_finding(t, "A-01", "critical", all, 0);
  auto const found = findings_with_id(t, "A-01");
  CHECK(found[0]["explanation"].get<std::string>().find(t.entries[0].unparsed_hex) != std::string::npos);
  CHECK(found[0]["client_error"].get<std::string>().find("first record does not look like a TLS handshake") !=
        std::string::npos);
  CHECK(findings_with_id(t, "A-02").empty());
  CHECK(findings_with_id(t, "R-03").empty());
}

TEST_CASE(
    "R-03 INVALID_PROXY_REQUEST: a CONNECT target without a port, or with port 0, is the client's mistake",
    "[diagnostics]") {
  cloud_world w;
  // No replay check: regtrace refuses the CONNECT itself, before any request.
  CHECK(proxy_client(w.proxy.port())
            .raw_exchange("CONNECT registry.test HTTP/1.1\r\n\r\n")
            .starts_with("HTTP/1.1 400"));
  w.wait_for_entries(1);
  CHECK(proxy_client(w.proxy.port())
            .raw_exchange("CONNECT registry.test:0 HTTP/1.1\r\n\r\n")
            .starts_with("HTTP/1.1 400"));
  w.wait_for_entries(2);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  CHECK(findings_with_id(t, "A-02").empty());  // no corporate proxy refused anything
  auto const found = findings_with_id(t, "R-03");
  REQUIRE(found.size() == 2);
  for (auto const& f : found) CHECK(f["severity"] == "error");
  std::vector<std::string> explanations{found[0]["explanation"], found[1]["explanation"]};
  std::sort(explanations.begin(), explanations.end());
  CHECK_THAT(explanations[0], Catch::Contains("\"CONNECT registry.test\"") && Catch::Contains("host:port"));
  CHECK_THAT(explanations[1], Catch::Contains("\"CONNECT registry.test:0\""));
}

TEST_CASE(
    "A-09 PROXY_BYPASSED_PARTIAL_TRACE: curl -L fetches the storage Location without the proxy (NO_PROXY)",
    "[diagnostics][curl]") {
  cloud_world w;
  auto const layer = w.upstream.add_blob("layer bytes");
  // curl goes to storage.test itself: it resolves the name and trusts the registry's own CA too.
  auto const fetch_via = [&](proxy_fixture const& via, std::string const& follow, int* status) {
    auto const bundle = w.dir / "cas.pem";
    std::ofstream(bundle) << slurp(via.ca_file()) << slurp(w.pki.ca_file);
    return run_command("curl -sS -x http://127.0.0.1:" + std::to_string(via.port()) + " --noproxy " +
                           cloud_registry::storage_host + " --resolve " + cloud_registry::storage_host + ":" +
                           std::to_string(w.upstream.port()) + ":127.0.0.1 --cacert '" + bundle.string() +
                           "' " + follow + " -o /dev/null -w '%{http_code}' '" +
                           w.upstream.url(registry_host, "/v2/app/blobs/" + layer) + "' 2>&1",
                       status);
  };
  int status = 0;
  CHECK(fetch_via(w.proxy, "-L", &status) == "200");  // the layer came, straight from storage
  CHECK(status == 0);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  CHECK(t.entries[0].status == 307);
  // Only the finished trace shows that nothing came for the Location: no entry is tagged live.
  require_finding(t, "A-09", "warning", {0}, std::nullopt);
  CHECK(findings_with_id(t, "D-04").empty());

  // Replayed: the 307 comes from the trace (its Location's signature redacted, so only the redirect
  // itself is compared).
  auto replay = start_replay(w);
  CHECK(fetch_via(*replay, "", &status) == "307");
  require_answered_from_trace(finish_replay(*replay));
}

TEST_CASE("A-06 TLS_HANDSHAKE_STALL: the registry accepts TCP and never speaks TLS; curl --max-time gives up",
          "[diagnostics][curl]") {
  // A port that accepts and then reads forever: a firewall that lets TCP through and drops the rest.
  loopback_listener silent([](boost::asio::ip::tcp::socket& socket) {
    char byte = 0;
    boost::system::error_code ec;
    while (!ec) socket.read_some(boost::asio::buffer(&byte, 1), ec);
  });
  cloud_world w([&](proxy::proxy_config& config) {
    config.connect_timeout = std::chrono::seconds(3);  // resolve, TCP and the TLS handshake
    config.resolve_rules.push_back({"silent.test", silent.port(), "127.0.0.1"});
  });
  int status = 0;
  auto const output =
      curl(w, "--max-time 2 'https://silent.test:" + std::to_string(silent.port()) + "/v2/' 2>&1", &status);
  INFO(output);
  CHECK(output.find("curl: (28)") != std::string::npos);
  w.wait_for_entries(1);  // written when the client leaves (its 2 s), before regtrace's 3 s timeout

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  REQUIRE(t.entries[0].failure);
  CHECK(t.entries[0].failure->where == capture::phase::upstream_tls);
  CHECK(capture::failed_with(t.entries[0], capture::errc::client_abandoned));
  CHECK(t.entries[0].status == 0);  // curl received nothing; no 504 on the entry
  require_finding(t, "A-06", "error", {0}, 0);
  CHECK(findings_with_id(t, "A-04").empty());  // no certificate problem: nothing was ever said
  for (auto const& f : findings_with_id(t, "A-06")) {
    CHECK(f["client_error"].get<std::string>().starts_with("curl: (28)"));
    CHECK(f["client_error"].get<std::string>().find("502") == std::string::npos);
    CHECK(f["remediation"].get<std::string>().find("--upstream-ca") == std::string::npos);
  }
}

// regtrace's TLS stream keeps the peer's first bytes: "HTTP/" where a ServerHello belongs is a
// plain-HTTP server (errc::upstream_not_tls), not a certificate problem.
TEST_CASE("A-17 PLAIN_HTTP_REGISTRY_AS_HTTPS: the registry answers regtrace's ClientHello in plain HTTP",
          "[diagnostics]") {
  // A plain-HTTP registry (Go's net/http, as distribution without tls:) answers the TLS bytes it cannot
  // parse with its 400.
  loopback_listener plain([](boost::asio::ip::tcp::socket& socket) {
    char hello[512];
    boost::system::error_code ec;
    socket.read_some(boost::asio::buffer(hello), ec);
    std::string const answer =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
        "400 Bad Request";
    boost::asio::write(socket, boost::asio::buffer(answer), ec);
  });
  cloud_world w([&](proxy::proxy_config& config) {
    config.resolve_rules.push_back({"plain.test", plain.port(), "127.0.0.1"});
  });
  CHECK(w.send_to("GET", "plain.test", plain.port(), "/v2/").status == 502);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  REQUIRE(t.entries[0].failure);
  INFO(t.entries[0].failure->code_category << " " << t.entries[0].failure->code_value << " "
                                           << t.entries[0].failure->message << ": "
                                           << t.entries[0].failure->detail);
  CHECK(t.entries[0].failure->where == capture::phase::upstream_tls);
  require_finding(t, "A-17", "error", {0}, 0);
  CHECK(findings_with_id(t, "A-04").empty());
}
