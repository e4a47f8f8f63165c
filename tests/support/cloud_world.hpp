#pragma once
// The set-up the diagnostics tests share: the scripted cloud registry (registry, token realm, storage
// on one port), regtrace in front of it with --resolve rules for every name, tunnelled clients per
// host, and the assertions on the trace as the user gets it (the HAR's log._findings and each entry's
// _regtrace.findings). finish() then replays the trace to the same requests and checks that every
// client gets the same answer again (issue 4; cloud_world_replay.cpp).

#include "capture/har/har_reader.hpp"
#include "tests/support/cloud_registry.hpp"
#include "tests/support/loopback_listener.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>

namespace regtrace::test {

/// The clients' connection pattern. By default a client keeps one tunnel per host alive for all its
/// requests, as Docker Engine 29.4+, containerd, podman and skopeo do; with
/// REGTRACE_TEST_CONNECTION_PER_REQUEST set (ctest `integration-connection-per-request`) every request
/// opens a new CONNECT tunnel and TLS session, as Docker Engine 20.10 does. Every scenario must give
/// the same findings either way.
inline bool connection_per_request() {
  static bool const on = std::getenv("REGTRACE_TEST_CONNECTION_PER_REQUEST") != nullptr;
  return on;
}

/// The trace after the proxy stopped: the entries as read back, and the HAR JSON itself.
struct finished_trace {
  std::vector<capture::exchange> entries;
  nlohmann::json har;
};

/// One request a test client of the world sent through regtrace, and the answer it got.
struct sent_request {
  std::string method;
  std::string host;
  std::uint16_t port = 0;
  std::string target;
  header_pairs headers;
  std::string body;                ///< a text body
  std::uint64_t upload_bytes = 0;  ///< or this many pattern bytes
  client_response answer;
};

struct cloud_world;
/// Replays w's finished trace (a second regtrace with --replay) to the same requests in the same order
/// and CHECKs every client sees the same answer, that no request reached the network and that the
/// replay's trace has no replay finding (R-01, R-02). finish() calls it (cloud_world_replay.cpp).
void require_same_answers_on_replay(cloud_world& w);
/// A second regtrace answering from w's finished trace and --store-bodies folder, with every name
/// resolved to an address where nothing listens, so that any network attempt fails visibly.
std::unique_ptr<proxy_fixture> start_replay(cloud_world& w, bool replay_timing = false);
/// Stops a replaying regtrace and reads its own trace back.
finished_trace finish_replay(proxy_fixture& replay);
/// CHECKs that every request of a replay's trace was answered from the replayed trace: each entry
/// names the entry it came from, and there is no replay finding (R-01 no match, R-02 body missing).
void require_answered_from_trace(finished_trace const& replayed);

struct cloud_world {
  explicit cloud_world(std::function<void(proxy::proxy_config&)> adjust = {},
                       cloud_registry::tls_versions versions = cloud_registry::tls_versions::modern)
      : pki(make_test_pki(
            dir.path(), cloud_registry::registry_host,
            {cloud_registry::auth_host, cloud_registry::storage_host, cloud_registry::foreign_host,
             cloud_registry::acr_host, cloud_registry::gcr_host})),
        upstream(pki, versions),
        unreachable_port(closed_port()),
        proxy([&](proxy::proxy_config& config) {
          config.upstream_ca_files = {pki.ca_file};
          config.store_bodies_dir = dir / "bodies";  // binary bodies, for the replay of every scenario
          for (auto const& host : cloud_registry::host_names()) {
            config.resolve_rules.push_back({host, upstream.port(), "127.0.0.1"});
            config.resolve_rules.push_back(
                {host, unreachable_port, "127.0.0.1"});  // refused (A-08, C-07, D-04)
          }
          if (adjust) adjust(config);
        }) {}

  /// "registry.test:PORT".
  std::string registry() const { return upstream.authority(cloud_registry::registry_host); }
  /// "https://HOST:CLOSED_PORT" + path: a URL whose connection is refused.
  std::string unreachable_url(std::string const& host, std::string const& path) const {
    return "https://" + host + ":" + std::to_string(unreachable_port) + path;
  }

  /// A client tunnelled to host:port through regtrace, trusting regtrace's CA; one per authority.
  proxy_client& client(std::string const& host, std::uint16_t port) {
    auto authority = host + ":" + std::to_string(port);
    auto& slot = clients[authority];
    if (!slot) {
      slot = std::make_unique<proxy_client>(proxy.port());
      REQUIRE(slot->send_connect(authority) == 200);
      REQUIRE(slot->handshake(host, proxy.ca_file()) == "");
    }
    return *slot;
  }

  /// One request to host (on the cloud registry's port) with Host set as a client sets it.
  client_response send(std::string const& method, std::string const& host, std::string const& target,
                       header_pairs headers = {}, std::string const& body = {}) {
    return send_to(method, host, upstream.port(), target, std::move(headers), body);
  }
  client_response send_to(std::string const& method, std::string const& host, std::uint16_t port,
                          std::string const& target, header_pairs headers = {},
                          std::string const& body = {}) {
    return send_request({method, host, port, target, std::move(headers), body, 0, {}});
  }
  /// A registry request whose body is `bytes` pattern bytes (a layer chunk).
  client_response upload(std::string const& method, std::string const& target, header_pairs headers,
                         std::uint64_t bytes) {
    return send_request(
        {method, cloud_registry::registry_host, upstream.port(), target, std::move(headers), {}, bytes, {}});
  }
  /// Sends one request (Host and User-Agent added as a client sets them) and remembers it with its answer,
  /// for the replay check of finish().
  client_response send_request(sent_request request) {
    if (connection_per_request()) clients.erase(request.host + ":" + std::to_string(request.port));
    request.headers.emplace_back("Host", request.host + ":" + std::to_string(request.port));
    request.headers.emplace_back("User-Agent", user_agent);
    request.answer = send_through(client(request.host, request.port), request);
    recorded();
    sent.push_back(request);
    return request.answer;
  }
  /// Sends r on c (a tunnel to regtrace, or to a replay of its trace) and returns the answer.
  static client_response send_through(proxy_client& c, sent_request const& r) {
    if (r.upload_bytes > 0) return c.request(r.method, r.target, r.headers, r.upload_bytes);
    return r.body.empty() ? c.request(r.method, r.target, r.headers)
                          : c.request_text(r.method, r.target, r.headers, r.body);
  }
  /// Waits until the exchange just answered is in the trace, so that entry indexes follow the order of
  /// the test's requests (regtrace records an exchange just after relaying it; the next request of a
  /// test, on another tunnel, could otherwise overtake it).
  void recorded() { wait_for_entries(++entries_expected); }
  /// GET an absolute https URL (a Location), as a client following a redirect does.
  client_response follow(std::string const& url, header_pairs headers = {}) {
    auto rest = url.substr(url.find("://") + 3);
    auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    auto colon = authority.rfind(':');
    return send_to("GET", authority.substr(0, colon),
                   static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1))), rest.substr(slash),
                   std::move(headers));
  }
  /// A registry request (registry.test).
  client_response reg(std::string const& method, std::string const& target, header_pairs headers = {},
                      std::string const& body = {}) {
    return send(method, cloud_registry::registry_host, target, std::move(headers), body);
  }

  /// Waits until the trace on disk holds n entries (an exchange still in flight is written when it ends).
  void wait_for_entries(std::size_t n) { wait_for_trace_entries(proxy.har_file(), n); }

  /// Closes the clients, stops the proxy (final diagnosis written), reads the trace back and replays it
  /// to the requests sent through send/reg/send_to/follow/upload (require_same_answers_on_replay).
  finished_trace finish() {
    clients.clear();
    finished_trace t;
    t.entries = proxy.stop_and_read();
    std::ifstream in(proxy.har_file());
    t.har = nlohmann::json::parse(in);
    // REGTRACE_KEEP_TRACES=DIR keeps each test's trace as DIR/<test name>.har, for `regtrace report`.
    if (char const* keep = std::getenv("REGTRACE_KEEP_TRACES")) {
      std::string name = Catch::getResultCapture().getCurrentTestName();
      for (auto& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
      std::filesystem::copy_file(proxy.har_file(), std::filesystem::path(keep) / (name + ".har"),
                                 std::filesystem::copy_options::overwrite_existing);
    }
    if (!sent.empty()) require_same_answers_on_replay(*this);
    return t;
  }

  std::string user_agent =
      "docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84 kernel/6.1.0-18-amd64 os/linux arch/amd64 "
      "UpstreamClient(Docker-Client/20.10.24+dfsg1 \\(linux\\))";
  temp_dir dir;
  test_pki pki;
  cloud_registry upstream;
  std::uint16_t unreachable_port;
  proxy_fixture proxy;
  std::map<std::string, std::unique_ptr<proxy_client>> clients;
  std::size_t entries_expected = 0;
  std::vector<sent_request> sent;  ///< in order, for the replay check
};

/// One line per entry ("1: GET https://auth.test:PORT/token?... → 200 [B-05]"), for failure messages.
inline std::string summary(finished_trace const& t) {
  std::string text;
  for (std::size_t i = 0; i < t.entries.size(); ++i) {
    auto const& x = t.entries[i];
    text += std::to_string(i) + ": " + std::string(capture::to_string(x.kind)) + " " + x.method + " " +
            x.url() + " → " + std::to_string(x.status);
    if (x.failure)
      text += " (" + std::string(capture::to_string(x.failure->where)) + ": " + x.failure->message + ")";
    for (auto const& id : x.finding_ids) text += " [" + id + "]";
    text += "\n";
  }
  return text;
}

/// How a finding's evidence is compared with the expected entries.
enum class evidence_match {
  exact,     ///< the evidence is these entries, no more
  includes,  ///< these entries are among the evidence
};

/// The finding `id` is in log._findings with `severity`, its evidence entries (0-based positions in
/// log.entries) are `evidence`, and the entry `key` — the one whose arrival completed the signature —
/// lists the ID in its _regtrace.findings. No key (std::nullopt) for findings about what the client
/// never did afterwards: the live window waits for the client to move on, so only the diagnosis on
/// close (log._findings) concludes them and no entry is tagged.
inline void require_finding(finished_trace const& t, std::string const& id, std::string const& severity,
                            std::vector<std::size_t> evidence, std::optional<std::size_t> key,
                            evidence_match match = evidence_match::exact) {
  auto const& findings = t.har["log"].value("_findings", nlohmann::json::array());
  INFO("trace:\n" << summary(t));
  INFO("log._findings: " << findings.dump(2));
  auto found =
      std::find_if(findings.begin(), findings.end(), [&](auto const& f) { return f.value("id", "") == id; });
  REQUIRE(found != findings.end());
  CHECK((*found)["severity"] == severity);
  auto entries = (*found)["entries"].get<std::vector<std::size_t>>();
  std::sort(entries.begin(), entries.end());
  std::sort(evidence.begin(), evidence.end());
  if (match == evidence_match::exact) {
    CHECK(entries == evidence);
  } else {
    for (auto e : evidence) CHECK(std::find(entries.begin(), entries.end(), e) != entries.end());
  }
  if (!key) return;
  auto const& har_entries = t.har["log"]["entries"];
  REQUIRE(*key < har_entries.size());
  auto const& listed = har_entries[*key]["_regtrace"].value("findings", nlohmann::json::array());
  INFO("entry " << *key << " _regtrace.findings: " << listed.dump());
  CHECK(std::find(listed.begin(), listed.end(), id) != listed.end());
}

/// The response header `name` of an entry (case-insensitive), or "".
inline std::string response_header(capture::exchange const& x, std::string const& name) {
  auto const* value = capture::find_header(x.response_headers, name);
  return value ? *value : std::string{};
}
inline std::string request_header(capture::exchange const& x, std::string const& name) {
  auto const* value = capture::find_header(x.request_headers, name);
  return value ? *value : std::string{};
}

/// A distribution-style token (GET realm with Basic credentials, §4.3); returns the token.
inline std::string fetch_token(cloud_world& w, std::string const& scope, std::string const& basic = {}) {
  header_pairs headers;
  if (!basic.empty()) headers.emplace_back("Authorization", "Basic " + basic);
  auto answer = w.send("GET", cloud_registry::auth_host,
                       "/token?scope=" + scope + "&service=" + cloud_registry::registry_host, headers);
  REQUIRE(answer.status == 200);
  return nlohmann::json::parse(answer.body).value("token", "");
}

/// The index of the first entry for which pred holds (a real client's order is its own).
template <class Predicate>
std::size_t index_of(finished_trace const& t, Predicate pred) {
  auto found = std::find_if(t.entries.begin(), t.entries.end(), pred);
  INFO("trace:\n" << summary(t));
  REQUIRE(found != t.entries.end());
  return static_cast<std::size_t>(found - t.entries.begin());
}

/// curl through a regtrace (the world's, or a replay of it), trusting its CA (scripts/install-deps.sh
/// test installs curl).
inline std::string curl(proxy_fixture const& via, std::string const& arguments, int* status) {
  return run_command("curl -sS -x http://127.0.0.1:" + std::to_string(via.port()) + " --cacert '" +
                         via.ca_file().string() + "' " + arguments,
                     status);
}
inline std::string curl(cloud_world& w, std::string const& arguments, int* status) {
  return curl(w.proxy, arguments, status);
}

/// skopeo through a regtrace (HTTPS_PROXY), trusting its CA through cert_flag (inspect: --cert-dir,
/// copy: --src-cert-dir); returns output and errors.
inline std::string skopeo(cloud_world& w, proxy_fixture const& via, std::string const& arguments, int* status,
                          std::string const& cert_flag = "--cert-dir") {
  auto const certs = w.dir / "skopeo-certs";
  std::filesystem::create_directories(certs);
  std::filesystem::copy_file(via.ca_file(), certs / "regtrace-ca.crt",
                             std::filesystem::copy_options::overwrite_existing);
  return run_command(
      "env -u NO_PROXY -u no_proxy HTTPS_PROXY=http://127.0.0.1:" + std::to_string(via.port()) + " skopeo " +
          arguments + " " + cert_flag + " '" + certs.string() + "' 2>&1",
      status);
}
inline std::string skopeo(cloud_world& w, std::string const& arguments, int* status,
                          std::string const& cert_flag = "--cert-dir") {
  return skopeo(w, w.proxy, arguments, status, cert_flag);
}

/// A client's output with what differs between two runs of the same command taken out: loopback ports
/// (the proxy's), temporary folders and Go's log time stamps.
inline std::string normalised(std::string const& output) {
  static std::regex const varying(R"(127\.0\.0\.1:[0-9]+|/tmp/[^/ '"]+|time="[^"]*")");
  return std::regex_replace(output, varying, "<...>");
}

}  // namespace regtrace::test
