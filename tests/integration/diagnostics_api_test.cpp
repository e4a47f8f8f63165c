// Catalog §3 group C through the proxy: registry API errors on pull and push.
#include "tests/support/cloud_world.hpp"

#include "tests/support/docker_daemon.hpp"

using namespace regtrace;
using namespace regtrace::test;

namespace {

std::string const oci_manifest = "application/vnd.oci.image.manifest.v1+json";
std::string const oci_index = "application/vnd.oci.image.index.v1+json";
std::string const foreign_layer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
std::string const registry_host = cloud_registry::registry_host;

// An image manifest referencing a config and one layer (each {digest, size, mediaType[, urls]}).
std::string image_manifest(std::string const& layer_digest,
                           std::string const& layer_type = "application/vnd.oci.image.layer.v1.tar+gzip",
                           std::vector<std::string> urls = {}) {
  nlohmann::json layer = {{"mediaType", layer_type}, {"digest", layer_digest}, {"size", 1048576}};
  if (!urls.empty()) layer["urls"] = urls;
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", oci_manifest},
                             {"config",
                              {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                               {"digest", digest_of("config")},
                               {"size", 6}}},
                             {"layers", {layer}}};
  return manifest.dump();
}

// POST /v2/app/blobs/uploads/ answered 202 with an upload location.
std::string const upload_location = "/v2/app/blobs/uploads/0b6e4e52-upload?_state=opaque";
void script_upload_start(cloud_world& w) {
  w.upstream.on(registry_host, "POST", "/v2/app/blobs/uploads/",
                {reply{202,
                       {{"Location", upload_location},
                        {"Range", "0-0"},
                        {"Docker-Upload-UUID", "0b6e4e52-upload"},
                        {"Docker-Distribution-Api-Version", "registry/2.0"}},
                       "",
                       {}}});
}

}  // namespace

TEST_CASE("C-01 MANIFEST_NOT_FOUND: a tag the repository does not have", "[diagnostics]") {
  cloud_world w;
  CHECK(w.reg("GET", "/v2/app/manifests/v9", {{"Accept", oci_manifest}}).status == 404);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "C-01", "error", {0}, 0);
}

TEST_CASE("C-02 REPOSITORY_UNKNOWN_OR_HIDDEN: 404 NAME_UNKNOWN", "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "GET", "/v2/nosuch/manifests/v1",
                {registry_error(404, "NAME_UNKNOWN", "repository name not known to registry")});
  CHECK(w.reg("GET", "/v2/nosuch/manifests/v1").status == 404);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "C-02", "error", {0}, 0);
}

TEST_CASE("C-03 NAME_INVALID_UPPERCASE_OR_SYNTAX: an uppercase repository name", "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "GET", "/v2/MyApp/manifests/v1",
                {registry_error(400, "NAME_INVALID", "invalid repository name")});
  CHECK(w.reg("GET", "/v2/MyApp/manifests/v1").status == 400);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "C-03", "error", {0}, 0);
}

TEST_CASE("C-04 PLATFORM_NOT_IN_INDEX: an index without the client's platform, and nothing after it",
          "[diagnostics]") {
  cloud_world w;
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", oci_index},
                          {"manifests",
                           {{{"mediaType", oci_manifest},
                             {"digest", digest_of("arm64")},
                             {"size", 500},
                             {"platform", {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}}}},
                            {{"mediaType", oci_manifest},
                             {"digest", digest_of("windows")},
                             {"size", 500},
                             {"platform", {{"architecture", "amd64"}, {"os", "windows"}}}}}}};
  w.upstream.add_manifest("app", "v1", oci_index, index.dump());
  auto answer = w.reg("GET", "/v2/app/manifests/v1", {{"Accept", oci_index + ", " + oci_manifest}});
  CHECK(answer.status == 200);
  CHECK(answer.headers["content-type"] == oci_index);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  CHECK(request_header(t.entries[0], "User-Agent").find("arch/amd64") != std::string::npos);
  require_finding(t, "C-04", "error", {0}, 0);
}

TEST_CASE("C-04 PLATFORM_NOT_IN_INDEX: docker pull --platform for a platform the index lacks",
          "[diagnostics][docker]") {
  cloud_world w;
  nlohmann::json index = {
      {"schemaVersion", 2},
      {"mediaType", oci_index},
      {"manifests",
       {{{"mediaType", oci_manifest},
         {"digest", digest_of("amd64")},
         {"size", 500},
         {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}},
        {{"mediaType", oci_manifest},
         {"digest", digest_of("arm64")},
         {"size", 500},
         {"platform", {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}}}}}}};
  w.upstream.add_manifest("app", "v1", oci_index, index.dump());
  // dockerd runs on linux/amd64, which the index lists: only --platform asks for what it lacks.
  auto const pull = [&](proxy_fixture const& via, std::string const& name, int* status) {
    docker_daemon daemon(w.dir / name, via.port(), via.ca_file(), {w.registry()});
    return daemon.docker("pull --platform linux/s390x " + w.registry() + "/app:v1", status);
  };
  int status = 0;
  auto const output = pull(w.proxy, "docker", &status);
  INFO(output);
  CHECK(status != 0);
  std::string const refused = "no matching manifest for linux/s390x in the manifest list entries";
  CHECK(output.find(refused) != std::string::npos);

  auto t = w.finish();
  // dockerd asks HEAD by tag, then GET by digest: the GET carries the index.
  auto const fetched = index_of(
      t, [](auto const& x) { return x.method == "GET" && x.target.starts_with("/v2/app/manifests/"); });
  CHECK(request_header(t.entries[fetched], "User-Agent").find("arch/amd64") != std::string::npos);
  // Concluded when the trace closes: live, dockerd's next request could still have been the child.
  require_finding(t, "C-04", "error", {fetched}, std::nullopt);
  for (auto const& f : t.har["log"]["_findings"])
    if (f["id"] == "C-04") CHECK_THAT(f["explanation"].get<std::string>(), Catch::Contains("--platform"));

  // Replayed: the same index, the same refusal.
  auto replay = start_replay(w);
  auto const again = pull(*replay, "docker-replayed", &status);
  INFO("replayed: " << again);
  CHECK(status != 0);
  CHECK(again.find(refused) != std::string::npos);
  require_answered_from_trace(finish_replay(*replay));
}

TEST_CASE("C-06 BLOB_UNKNOWN_ON_PULL: a layer of the manifest just fetched is unknown", "[diagnostics]") {
  cloud_world w;
  auto const layer = digest_of("garbage-collected layer");
  w.upstream.add_manifest("app", "v1", oci_manifest, image_manifest(layer));
  CHECK(w.reg("GET", "/v2/app/manifests/v1", {{"Accept", oci_manifest}}).status == 200);
  CHECK(w.reg("GET", "/v2/app/blobs/" + layer).status == 404);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  require_finding(t, "C-06", "error", {0, 1}, 1, evidence_match::includes);
}

TEST_CASE("C-07 FOREIGN_LAYER_UNREACHABLE: the registry lacks a foreign layer and its URL is unreachable",
          "[diagnostics]") {
  cloud_world w;
  auto const layer = digest_of("windows base layer");
  auto const foreign_url = w.unreachable_url(cloud_registry::foreign_host, "/v2/windows/blobs/" + layer);
  w.upstream.add_manifest("app", "v1", "application/vnd.docker.distribution.manifest.v2+json",
                          image_manifest(layer, foreign_layer, {foreign_url}));
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 200);
  CHECK(w.reg("GET", "/v2/app/blobs/" + layer).status == 404);  // Windows Docker asks the registry first
  CHECK(w.follow(foreign_url).status == 502);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 3);
  CHECK(t.entries[2].host == cloud_registry::foreign_host);
  REQUIRE(t.entries[2].failure);
  CHECK(t.entries[2].failure->where == capture::phase::upstream_connect);
  // The registry's 404 for a foreign layer triggers it (Linux Docker stops there); the failed URL joins it.
  require_finding(t, "C-07", "error", {0, 1, 2}, 1, evidence_match::includes);
}

TEST_CASE("C-08 MANIFEST_PUSH_REJECTED: the manifest references a blob the repository lacks",
          "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "PUT", "/v2/app/manifests/v1",
                {registry_error(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry")});
  auto answer = w.reg("PUT", "/v2/app/manifests/v1", {{"Content-Type", oci_manifest}},
                      image_manifest(digest_of("never uploaded")));
  CHECK(answer.status == 400);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "C-08", "error", {0}, 0);
}

TEST_CASE("C-09 BLOB_UPLOAD_SESSION_LOST: the upload location is unknown to the next replica",
          "[diagnostics]") {
  cloud_world w;
  script_upload_start(w);
  w.upstream.on(registry_host, "PATCH", upload_location,
                {registry_error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")});
  CHECK(w.reg("POST", "/v2/app/blobs/uploads/").status == 202);
  CHECK(w.reg("PATCH", upload_location, {{"Content-Type", "application/octet-stream"}}, "chunk").status ==
        404);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  require_finding(t, "C-09", "error", {1}, 1, evidence_match::includes);
}

TEST_CASE("C-10 DIGEST_OR_SIZE_INVALID_ON_UPLOAD: the closing PUT names a digest the bytes do not have",
          "[diagnostics]") {
  cloud_world w;
  script_upload_start(w);
  auto const claimed = digest_of("what the client meant to send");
  std::string const closing = upload_location + "&digest=" + claimed;
  w.upstream.on(registry_host, "PUT", closing,
                {registry_error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")});
  CHECK(w.reg("POST", "/v2/app/blobs/uploads/").status == 202);
  CHECK(w.reg("PUT", closing, {{"Content-Type", "application/octet-stream"}}, "what was actually sent")
            .status == 400);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  require_finding(t, "C-10", "error", {1}, 1, evidence_match::includes);
}

TEST_CASE("C-11 STORAGE_QUOTA_EXCEEDED: Harbor refuses the manifest over the project quota",
          "[diagnostics]") {
  cloud_world w;
  w.upstream.on(
      registry_host, "PUT", "/v2/app/manifests/v1",
      {registry_error(403, "DENIED",
                      "adding 20.5 MiB of storage resource, which when updated to current usage of 9.99 GiB "
                      "will exceed the configured upper limit of 10.0 GiB.")});
  CHECK(w.reg("PUT", "/v2/app/manifests/v1", {{"Content-Type", oci_manifest}}, image_manifest(digest_of("l")))
            .status == 403);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "C-11", "critical", {0}, 0);
}

TEST_CASE("C-12 WRITE_DISALLOWED_LOCK_READONLY: ACR refuses a push to a locked repository", "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "PUT", "/v2/app/manifests/v1", {acr_disallowed()});
  CHECK(w.reg("PUT", "/v2/app/manifests/v1", {{"Content-Type", oci_manifest}}, image_manifest(digest_of("l")))
            .status == 405);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "C-12", "error", {0}, 0);
}

TEST_CASE("C-13 RATE_LIMITED: 429 with Retry-After and no recovery", "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "GET", "/v2/app/manifests/v1", {too_many_requests(30)});
  auto answer = w.reg("GET", "/v2/app/manifests/v1");
  CHECK(answer.status == 429);
  CHECK(answer.headers["retry-after"] == "30");

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "C-13", "error", {0}, 0);
}

TEST_CASE("C-13 RATE_LIMITED: a WARNING when the retry after Retry-After succeeds", "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "GET", "/v2/app/manifests/v1",
                {too_many_requests(1),
                 reply{200, {{"Content-Type", oci_manifest}}, image_manifest(digest_of("l")), {}}});
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 429);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // containers/image honours Retry-After
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 200);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  require_finding(t, "C-13", "warning", {0}, 0, evidence_match::includes);
}

TEST_CASE("C-14 REGISTRY_SERVER_ERROR: 503 UNAVAILABLE and no recovery", "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "GET", "/v2/app/manifests/v1",
                {registry_error(503, "UNAVAILABLE", "service unavailable")});
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 503);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 1);
  require_finding(t, "C-14", "error", {0}, 0);
}

TEST_CASE("C-14 REGISTRY_SERVER_ERROR: a WARNING when the retry succeeds", "[diagnostics]") {
  cloud_world w;
  w.upstream.on(registry_host, "GET", "/v2/app/manifests/v1",
                {registry_error(500, "UNKNOWN", "unknown error"),
                 reply{200, {{"Content-Type", oci_manifest}}, image_manifest(digest_of("l")), {}}});
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 500);
  CHECK(w.reg("GET", "/v2/app/manifests/v1").status == 200);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  require_finding(t, "C-14", "warning", {0}, 0, evidence_match::includes);
}

TEST_CASE("C-01 MANIFEST_NOT_FOUND: skopeo inspect of a missing tag", "[diagnostics][skopeo]") {
  cloud_world w;
  w.upstream.use_bearer_auth();
  w.upstream.add_user("alice", "s3cret", {"repository:app:pull"});
  int status = 0;
  auto const inspect = "inspect --creds alice:s3cret docker://" + w.registry() + "/app:v9";
  auto output = skopeo(w, inspect, &status);
  INFO(output);
  CHECK(status != 0);
  CHECK(output.find("manifest unknown") != std::string::npos);

  auto t = w.finish();
  auto const missing = index_of(t, [](auto const& x) { return x.target == "/v2/app/manifests/v9"; });
  CHECK(t.entries[missing].status == 404);
  require_finding(t, "C-01", "error", {missing}, missing);

  // Replayed: the same error, in the same words.
  auto replay = start_replay(w);
  int replayed_status = 0;
  auto again = skopeo(w, *replay, inspect, &replayed_status);
  CHECK(replayed_status == status);
  CHECK(normalised(again) == normalised(output));
  require_answered_from_trace(finish_replay(*replay));
}
