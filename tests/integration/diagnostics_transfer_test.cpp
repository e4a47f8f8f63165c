// Catalog through the proxy: bodies cut or stalled mid-transfer on either leg (curl as the
// real client, its own error text compared with the finding's), and several byte ranges in one request.
#include "tests/support/cloud_world.hpp"

using namespace regtrace;
using namespace regtrace::test;
using namespace std::chrono_literals;

namespace {

std::string const octets = "application/octet-stream";
std::string const registry_host = cloud_registry::registry_host;

// A 1 MiB layer whose GET the registry answers with Content-Length 1 MiB and only the first 64 KiB.
std::string const layer(1 << 20, 'l');
std::size_t const sent_bytes = 64 << 10;

reply layer_cut_short(bool stall) {
  reply r{200, {{"Content-Type", octets}, {"Docker-Distribution-Api-Version", "registry/2.0"}}, layer, {}};
  r.body_stops_after = sent_bytes;
  r.stall = stall;
  return r;
}

// curl's own line for a body that ended short: "curl: (18) transfer closed with N bytes remaining to read".
std::string curl_line(std::string const& output) {
  auto const at = output.find("curl: (");
  return at == std::string::npos ? std::string{} : output.substr(at, output.find('\n', at) - at);
}

// The finding's field, from log._findings.
std::string finding_field(finished_trace const& t, std::string const& id, std::string const& field) {
  for (auto const& f : t.har["log"].value("_findings", nlohmann::json::array()))
    if (f.value("id", "") == id) return f.value(field, "");
  return {};
}

}  // namespace

TEST_CASE("A-14 TRANSFER_CUT_OR_STALLED: the registry closes mid-body; curl says what the finding says",
          "[diagnostics][curl]") {
  cloud_world w;
  auto const digest = digest_of(layer);
  w.upstream.on(registry_host, "GET", "/v2/app/blobs/" + digest, {layer_cut_short(false)});
  auto const download =
      "-o /dev/null '" + w.upstream.url(registry_host, "/v2/app/blobs/" + digest) + "' 2>&1";
  int status = 0;
  auto const output = curl(w, download, &status);
  INFO(output);
  CHECK(status != 0);
  CHECK(curl_line(output) == "curl: (18) transfer closed with " + std::to_string(layer.size() - sent_bytes) +
                                 " bytes remaining to read");

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  CHECK(t.entries[0].status == 200);
  CHECK_FALSE(t.entries[0].response_body.complete);
  CHECK(t.entries[0].response_body.bytes == sent_bytes);
  REQUIRE(t.entries[0].failure);
  CHECK(t.entries[0].failure->peer == capture::failing_peer::upstream);
  require_finding(t, "A-14", "error", {0}, 0);
  CHECK(finding_field(t, "A-14", "client_error") == curl_line(output));

  // Replayed, the body is cut at the same byte: curl meets the same end.
  auto replay = start_replay(w);
  CHECK(curl_line(curl(*replay, download, &status)) == curl_line(output));
  require_answered_from_trace(finish_replay(*replay));
}

TEST_CASE(
    "A-14 TRANSFER_CUT_OR_STALLED: the registry stops sending mid-body; regtrace's idle timeout ends it",
    "[diagnostics][curl]") {
  cloud_world w([](proxy::proxy_config& config) { config.idle_timeout = 1s; });
  auto const digest = digest_of(layer);
  w.upstream.on(registry_host, "GET", "/v2/app/blobs/" + digest, {layer_cut_short(true)});
  int status = 0;
  auto const output = curl(
      w, "-o /dev/null '" + w.upstream.url(registry_host, "/v2/app/blobs/" + digest) + "' 2>&1", &status);
  INFO(output);
  CHECK(status != 0);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  CHECK(t.entries[0].response_body.bytes == sent_bytes);
  require_finding(t, "A-14", "error", {0}, 0);
  CHECK_THAT(finding_field(t, "A-14", "explanation"),
             Catch::Contains("moved no byte for regtrace's idle timeout"));
}

TEST_CASE("A-14 TRANSFER_CUT_OR_STALLED: a client trickling its upload is the slow side, not A-07",
          "[diagnostics][curl]") {
  cloud_world w([](proxy::proxy_config& config) { config.idle_timeout = 1s; });
  int status = 0;
  // curl streams stdin as the body: 1000 bytes, then nothing for longer than regtrace's idle timeout.
  auto const output = run_command(
      "(head -c 1000 /dev/zero; sleep 3) | curl -sS -x http://127.0.0.1:" + std::to_string(w.proxy.port()) +
          " --cacert '" + w.proxy.ca_file().string() +
          "' -H 'Content-Length: 262144' -H 'Transfer-Encoding:' -H 'Expect:' -X PATCH -T - '" +
          w.upstream.url(registry_host, "/v2/app/blobs/uploads/7d2c-upload") + "' 2>&1",
      &status);
  INFO(output);
  CHECK(status != 0);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  REQUIRE(t.entries[0].failure);
  CHECK(t.entries[0].failure->where == capture::phase::request_relay);
  CHECK(t.entries[0].failure->peer == capture::failing_peer::client);
  CHECK_FALSE(t.entries[0].request_body.complete);
  require_finding(t, "A-14", "error", {0}, 0);
  CHECK_THAT(finding_field(t, "A-14", "explanation"), Catch::Contains("The slow side was the client"));
  auto const& findings = t.har["log"]["_findings"];
  CHECK(std::none_of(findings.begin(), findings.end(), [](auto const& f) { return f["id"] == "A-07"; }));
}

TEST_CASE("A-15 MULTI_RANGE_UNSUPPORTED: several ranges answered with the whole blob, then a full pull",
          "[diagnostics]") {
  cloud_world w;
  std::string const blob(4096, 'z');
  auto const digest = w.upstream.add_blob(blob);
  w.upstream.on(
      registry_host, "GET", "/v2/app/blobs/" + digest,
      {reply{
          200, {{"Content-Type", octets}, {"Docker-Distribution-Api-Version", "registry/2.0"}}, blob, {}}});
  auto partial = w.reg("GET", "/v2/app/blobs/" + digest, {{"Range", "bytes=0-99,2048-2147"}});
  CHECK(partial.status == 200);  // the whole blob, not 206 multipart/byteranges
  CHECK(w.reg("GET", "/v2/app/blobs/" + digest).status == 200);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  require_finding(t, "A-15", "warning", {0, 1}, 0);
  auto const& findings = t.har["log"]["_findings"];
  CHECK(std::none_of(findings.begin(), findings.end(), [](auto const& f) { return f["id"] == "A-11"; }));
}
