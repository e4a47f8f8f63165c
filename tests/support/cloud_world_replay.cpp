// Every raw-client diagnostics scenario replayed (issue 4): the captured trace answers the same requests
// through a second regtrace, and each client must see the answer it saw in the capture.
#include "tests/support/cloud_world.hpp"

#include "capture/redaction/redaction.hpp"

namespace regtrace::test {

namespace {

// What the trace holds of a live answer: the answer with regtrace's redaction applied (a token body's
// token, a storage URL's signature), which is all a replay can give back.
capture::exchange as_recorded(sent_request const& request) {
  capture::exchange x;
  x.method = request.method;
  x.scheme = "https";
  x.host = request.host;
  x.port = request.port;
  x.target = request.target;
  for (auto const& [name, value] : request.headers) x.request_headers.push_back({name, value});
  for (auto const& [name, value] : request.answer.headers) x.response_headers.push_back({name, value});
  x.response_body.text = request.answer.body;
  capture::redact(x);
  return x;
}

std::string header_of(client_response const& answer, std::string const& lower_case_name) {
  auto found = answer.headers.find(lower_case_name);
  return found == answer.headers.end() ? std::string{} : found->second;
}

// "https://host:port/path" of a Location: its query carries signatures the trace redacts.
std::string without_query(std::string const& url) {
  return url.substr(0, url.find('?'));
}

// The answer a replayed request got, compared with the one it got in the capture: status, body and the
// headers a registry client acts on.
void require_same_answer(sent_request const& request, client_response const& replayed) {
  auto const& live = request.answer;
  auto const recorded = as_recorded(request);
  CHECK(replayed.status == live.status);
  bool const body_redacted = recorded.response_body.text != live.body;
  if (body_redacted) {
    CHECK(replayed.body == recorded.response_body.text);
  } else {
    CHECK(replayed.body_bytes == live.body_bytes);
    CHECK(replayed.body_sha256 == live.body_sha256);
  }
  for (std::string const name : {"content-type", "docker-content-digest", "www-authenticate", "retry-after",
                                 "range", "docker-upload-uuid", "docker-distribution-api-version"}) {
    auto const* expected = capture::find_header(recorded.response_headers, name);
    INFO("header " << name);
    CHECK(header_of(replayed, name) == (expected ? *expected : std::string{}));
  }
  CHECK(header_of(replayed, "content-length") ==
        (body_redacted ? std::to_string(replayed.body.size()) : header_of(live, "content-length")));
  CHECK(without_query(header_of(replayed, "location")) == without_query(header_of(live, "location")));
}

}  // namespace

std::unique_ptr<proxy_fixture> start_replay(cloud_world& w, bool replay_timing) {
  return std::make_unique<proxy_fixture>([&](proxy::proxy_config& config) {
    config.replay_har = w.proxy.har_file();
    config.replay_timing = replay_timing;
    config.store_bodies_dir = w.dir / "bodies";
    // The upstream still listens on 127.0.0.1 only; nothing listens on 127.0.0.2.
    for (auto const& host : cloud_registry::host_names())
      for (auto port : {w.upstream.port(), w.unreachable_port})
        config.resolve_rules.push_back({host, port, "127.0.0.2"});
  });
}

void require_same_answers_on_replay(cloud_world& w) {
  auto const upstream_requests = w.upstream.requests().size();
  auto replay = start_replay(w);
  {
    std::map<std::string, std::unique_ptr<proxy_client>> tunnels;  // one per authority, as in the capture
    for (std::size_t i = 0; i < w.sent.size(); ++i) {
      auto const& request = w.sent[i];
      INFO("replaying request " << i << ": " << request.method << " https://" << request.host << ":"
                                << request.port << request.target);
      auto const authority = request.host + ":" + std::to_string(request.port);
      auto& tunnel = tunnels[authority];
      if (!tunnel) {
        tunnel = std::make_unique<proxy_client>(replay->port());
        REQUIRE(tunnel->send_connect(authority) == 200);
        REQUIRE(tunnel->handshake(request.host, replay->ca_file()) == "");
      }
      require_same_answer(request, cloud_world::send_through(*tunnel, request));
    }
  }
  auto const replayed = finish_replay(*replay);
  require_answered_from_trace(replayed);
  CHECK(replayed.entries.size() == w.sent.size());
  CHECK(w.upstream.requests().size() == upstream_requests);  // nothing reached the registry
}

finished_trace finish_replay(proxy_fixture& replay) {
  finished_trace t;
  t.entries = replay.stop_and_read();
  std::ifstream in(replay.har_file());
  t.har = nlohmann::json::parse(in);
  return t;
}

void require_answered_from_trace(finished_trace const& replayed) {
  INFO("replay trace:\n" << summary(replayed));
  auto const findings = replayed.har["log"].value("_findings", nlohmann::json::array());
  INFO("replay findings: " << findings.dump(2));
  for (auto const& f : findings) CHECK((f["id"] != "R-01" && f["id"] != "R-02"));
  for (auto const& x : replayed.entries) CHECK(x.replayed_from);
}

}  // namespace regtrace::test
