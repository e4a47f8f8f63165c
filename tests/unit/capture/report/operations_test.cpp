// find_operations on hand-written traces: which requests make up each client operation (catalog §2),
// and how each one ended.

#include "capture/report/operations.hpp"
#include "tests/support/operation_traces.hpp"
#include "tests/support/sample_reports.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

namespace regtrace::capture::test {
namespace {

using report::operation;
using report::operation_kind;
using report::operation_outcome;

std::vector<std::string> roles(operation const& op) {
  std::vector<std::string> out;
  for (auto const& step : op.steps) out.push_back(step.role);
  return out;
}

std::vector<std::size_t> entries(operation const& op) {
  std::vector<std::size_t> out;
  for (auto const& step : op.steps) out.push_back(step.entry);
  return out;
}

/// The one operation a trace makes up.
operation only_operation(std::vector<exchange> trace) {
  auto const r = report_of(std::move(trace));
  REQUIRE(r.operations.size() == 1);
  return r.operations[0];
}

using strings = std::vector<std::string>;
using indexes = std::vector<std::size_t>;

}  // namespace

TEST_CASE("a healthy docker pull: token flow, index, platform manifest, config, layers via storage",
          "[capture][report][operations]") {
  auto const b = docker_pull();
  auto const op = only_operation(b.entries);
  CHECK(op.kind == operation_kind::pull);
  CHECK(op.title == "pull registry.test:5443/team/app:1.0");
  CHECK(op.registry == "registry.test:5443");
  CHECK(op.repository == "team/app");
  CHECK(op.reference == "1.0");
  CHECK(op.client == "docker");
  CHECK(op.user == "alice");
  CHECK(op.outcome == operation_outcome::succeeded);
  CHECK_FALSE(op.first_failure.has_value());
  CHECK(op.note.empty());
  CHECK(roles(op) ==
        strings{"ping", "token", "index", "manifest", "config", "layer", "storage", "layer", "storage"});
  CHECK(entries(op) == indexes{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(op.blobs == 3);
  CHECK(op.blobs_completed == 3);
  CHECK(op.layers == 2);
  CHECK(op.layers_completed == 2);
  std::uint64_t bytes = 0;
  for (auto const& x : b.entries) bytes += x.request_body.bytes + x.response_body.bytes;
  CHECK(op.bytes == bytes);
  CHECK(op.bytes > 8u << 20);
  CHECK(op.start_ms == 0);
  CHECK(op.duration_ms == Approx(8));  // nine requests 1 ms apart, none of them taking time…
  CHECK(op.finding_ids.empty());
}

TEST_CASE("the operation's duration runs from the first start to the last end",
          "[capture][report][operations]") {
  auto b = docker_pull();
  b.entries[6].timings.receive = 2300;  // the first layer's storage GET, at 6 ms
  auto const op = only_operation(b.entries);
  CHECK(op.duration_ms == Approx(2306));
}

TEST_CASE("a push with a cross-repository mount and an upload", "[capture][report][operations]") {
  auto const op = only_operation(docker_push().entries);
  CHECK(op.kind == operation_kind::push);
  CHECK(op.title == "push registry.test:5443/team/app:1.0");
  CHECK(op.reference == "1.0");
  CHECK(op.outcome == operation_outcome::succeeded);
  CHECK(roles(op) == strings{"ping", "token", "blob check", "blob check", "mount", "upload", "upload",
                             "upload", "manifest"});
  CHECK(op.blobs == 2);
  CHECK(op.blobs_completed == 2);
  CHECK(op.layers == 1);  // the manifest PUT names the mounted blob as its layer
  CHECK(op.layers_completed == 1);
  CHECK(op.bytes >= 1500);
}

TEST_CASE("a push that never sends its manifest is incomplete; one whose upload fails is failed",
          "[capture][report][operations]") {
  auto cut = docker_push();
  cut.entries.pop_back();
  auto const op = only_operation(cut.entries);
  CHECK(op.outcome == operation_outcome::incomplete);
  CHECK(op.note == "the trace ends before the manifest PUT");
  CHECK_FALSE(op.first_failure.has_value());

  auto refused = docker_push();
  refused.entries[6].status = 413;  // the PATCH, refused by a reverse proxy (catalog A-13): dockerd stops
  refused.entries.resize(7);
  auto const failed = only_operation(refused.entries);
  CHECK(failed.outcome == operation_outcome::failed);
  CHECK(failed.first_failure == std::optional<std::size_t>{6});
}

TEST_CASE("a login alone: ping, token, the check with the token", "[capture][report][operations]") {
  trace_builder b;
  auto& ping = b.add("GET", "/v2/", 401);
  ping.response_headers.push_back(
      {"WWW-Authenticate", R"(Bearer realm="https://auth.test/token",service="registry.test")"});
  auto& token = b.add_to("auth.test", 443, "GET",
                         "/token?account=alice&client_id=docker&offline_token=true&service=registry.test",
                         200, R"({"token":"<redacted sha256:3f9a12bc>"})");
  token.request_headers.push_back({"Authorization", "Basic <redacted user=alice sha256:aa11bb22>"});
  b.add("GET", "/v2/", 200).request_headers.push_back({"Authorization", "Bearer <redacted sha256:3f9a12bc>"});
  auto const r = report_of(b.entries);
  REQUIRE(r.operations.size() == 1);
  auto const& op = r.operations[0];
  CHECK(op.kind == operation_kind::login);
  CHECK(op.title == "login to registry.test:5443 as alice");
  CHECK(op.repository.empty());
  CHECK(op.outcome == operation_outcome::succeeded);
  CHECK(roles(op) == strings{"ping", "token", "ping"});

  SECTION("refused credentials fail the login at the token request") {
    b.entries[1].status = 401;
    auto const refused = only_operation(b.entries);
    CHECK(refused.outcome == operation_outcome::failed);
    CHECK(refused.first_failure == std::optional<std::size_t>{1});
  }
}

TEST_CASE("a Basic login names the user kept in the redacted credential", "[capture][report][operations]") {
  trace_builder b;
  b.add("GET", "/v2/", 401).response_headers.push_back({"WWW-Authenticate", R"(Basic realm="registry")"});
  b.add("GET", "/v2/", 200)
      .request_headers.push_back({"Authorization", "Basic <redacted user=bob sha256:77aa01de>"});
  auto const op = only_operation(redacted(b.entries));
  CHECK(op.title == "login to registry.test:5443 as bob");

  trace_builder plain;  // not redacted (--no-redact): the user is decoded from the credential
  plain.add("GET", "/v2/", 200).request_headers.push_back({"Authorization", "Basic Ym9iOnMzY3JldA=="});
  CHECK(only_operation(plain.entries).user == "bob");
}

TEST_CASE("a lone ping is no operation", "[capture][report][operations]") {
  trace_builder b;
  b.add("GET", "/v2/", 200);
  b.add("GET", "/v2/", 401);
  CHECK(report_of(b.entries).operations.empty());
}

TEST_CASE("a pull that fails on a 404 manifest", "[capture][report][operations]") {
  trace_builder b;
  b.token_flow("team/app");
  b.add("GET", "/v2/team/app/manifests/2.0", 404, registry_error("MANIFEST_UNKNOWN", "manifest unknown"));
  auto const r = report_of(b.entries, {sample_finding("C-01", rules::severity::error, 2, "404")});
  REQUIRE(r.operations.size() == 1);
  auto const& op = r.operations[0];
  CHECK(op.kind == operation_kind::pull);
  CHECK(op.title == "pull registry.test:5443/team/app:2.0");
  CHECK(op.outcome == operation_outcome::failed);
  CHECK(op.first_failure == std::optional<std::size_t>{2});
  CHECK(r.entries[*op.first_failure].error_code == "MANIFEST_UNKNOWN");
  CHECK(op.finding_ids == strings{"C-01"});
  CHECK(op.blobs == 0);
}

TEST_CASE("a pull that fails at the token request names the repository of the token's scope",
          "[capture][report][operations]") {
  trace_builder b;
  b.token_flow("team/app");
  b.entries[1].status = 401;
  auto const op = only_operation(b.entries);
  CHECK(op.kind == operation_kind::pull);
  CHECK(op.title == "pull registry.test:5443/team/app");
  CHECK(op.outcome == operation_outcome::failed);
  CHECK(op.first_failure == std::optional<std::size_t>{1});
}

TEST_CASE("a pull interrupted mid-layer is incomplete; a layer the registry cut is failed",
          "[capture][report][operations]") {
  auto b = docker_pull();
  auto& layer = b.entries[8];  // the second layer's storage GET
  layer.response_body.complete = false;
  layer.response_body.bytes = 1u << 20;
  layer.failure = make_failure(phase::response_relay, make_error_code(errc::proxy_stopped), "stopping",
                               failing_peer::unknown);
  auto const op = only_operation(b.entries);
  CHECK(op.outcome == operation_outcome::incomplete);
  CHECK(op.first_failure == std::optional<std::size_t>{8});
  CHECK(op.layers == 2);
  CHECK(op.layers_completed == 1);

  layer.failure = make_failure(phase::response_relay, make_error_code(errc::upstream_closed), "reading body",
                               failing_peer::upstream);
  auto const cut = report_of(b.entries);
  CHECK(cut.operations[0].outcome == operation_outcome::failed);
  CHECK(cut.operations[0].first_failure == std::optional<std::size_t>{8});
}

TEST_CASE("a trace that ends after a redirect leaves the pull incomplete", "[capture][report][operations]") {
  auto b = docker_pull();
  b.entries.pop_back();  // the storage GET of the second layer never came
  auto const op = only_operation(b.entries);
  CHECK(op.outcome == operation_outcome::incomplete);
  CHECK(op.note == "the trace has no complete answer for 1 of its 3 blobs");
  CHECK(op.layers_completed == 1);
}

TEST_CASE("a layer retried after a storage error still succeeds", "[capture][report][operations]") {
  auto b = docker_pull();
  b.entries[6].status = 503;  // the first layer's storage GET
  b.entries[6].response_body = {};
  layer_via_storage(b, "team/app", '1');
  auto const op = only_operation(b.entries);
  CHECK(op.outcome == operation_outcome::succeeded);
  CHECK(op.steps.size() == 11);
  CHECK(op.layers_completed == 2);
}

TEST_CASE("two clients interleaved on one repository are two operations", "[capture][report][operations]") {
  auto const trace = interleave(docker_pull().entries, containerd_pull().entries);
  auto const r = report_of(trace);
  REQUIRE(r.operations.size() == 2);
  auto const& docker = r.operations[0];
  auto const& containerd = r.operations[1];
  CHECK(docker.client == "docker");
  CHECK(containerd.client == "containerd");
  CHECK(entries(docker) == indexes{0, 2, 4, 6, 8, 10, 12, 13, 14});
  CHECK(entries(containerd) == indexes{1, 3, 5, 7, 9, 11});
  CHECK(docker.outcome == operation_outcome::succeeded);
  // containerd's first HEAD met the challenge; the HEAD after the token made up for it.
  CHECK(roles(containerd) == strings{"manifest", "token", "manifest", "manifest", "config", "layer"});
  CHECK(containerd.outcome == operation_outcome::succeeded);
  CHECK(containerd.user == "carol");
  CHECK(containerd.title == "pull registry.test:5443/team/app:1.0");
  CHECK(containerd.layers == 1);
}

TEST_CASE("one client's operations in a row: a push, then pulls of two tags",
          "[capture][report][operations]") {
  auto trace = docker_push().entries;
  for (auto const& x : docker_pull("team/app", "1.0").entries) trace.push_back(x);
  trace_builder second;
  second.add("GET", "/v2/team/app/manifests/2.0", 200, image_manifest(digest('d'), {}), manifest_type);
  for (auto const& x : second.entries) trace.push_back(x);
  auto const r = report_of(sequence(trace, 10));
  REQUIRE(r.operations.size() == 3);
  CHECK(r.operations[0].title == "push registry.test:5443/team/app:1.0");
  CHECK(r.operations[1].title == "pull registry.test:5443/team/app:1.0");
  CHECK(r.operations[1].steps.front().role == "ping");
  CHECK(r.operations[2].title == "pull registry.test:5443/team/app:2.0");
}

TEST_CASE("a tags list on its own is an operation of its own kind", "[capture][report][operations]") {
  trace_builder b;
  b.user_agent = curl_ua;
  b.add("GET", "/v2/team/app/tags/list", 404, registry_error("NAME_UNKNOWN", "repository name not known"));
  auto const op = only_operation(b.entries);
  CHECK(op.kind == operation_kind::other);
  CHECK(op.title == "tags of registry.test:5443/team/app");
  CHECK(op.client == "curl");
  CHECK(op.outcome == operation_outcome::failed);
}

TEST_CASE("a pull by digest shows the digest cut like the request table", "[capture][report][operations]") {
  trace_builder b;
  b.add("GET", "/v2/team/app/manifests/" + digest('a'), 200, image_manifest(digest('c'), {}), manifest_type);
  auto const op = only_operation(b.entries);
  CHECK(op.reference == digest('a'));
  CHECK(op.title == "pull registry.test:5443/team/app@sha256:aaaaaaaaaaaa…");
}

TEST_CASE("client names from User-Agents", "[capture][report][operations]") {
  CHECK(report::client_name(docker_ua) == "docker");
  CHECK(report::client_name(containerd_ua) == "containerd");
  CHECK(report::client_name(skopeo_ua) == "skopeo");
  CHECK(report::client_name(curl_ua) == "curl");
  CHECK(report::client_name("libpod/4.3.1") == "podman");
  CHECK(report::client_name("Go-http-client/1.1") == "Go-http-client");
  CHECK(report::client_name("") == "");
}

}  // namespace regtrace::capture::test
