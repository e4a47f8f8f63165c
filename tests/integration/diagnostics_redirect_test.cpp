// Catalog §3 group D through the proxy: blob redirects to pre-signed storage URLs (Azure SAS shape).
#include "tests/support/cloud_world.hpp"

#include "tests/support/docker_daemon.hpp"

using namespace regtrace;
using namespace regtrace::test;
using namespace std::chrono_literals;

namespace {

std::string const registry_host = cloud_registry::registry_host;

std::string slurp(std::filesystem::path const& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("a healthy token-authenticated pull through storage redirects yields no error or critical finding",
          "[diagnostics]") {
  cloud_world w;
  w.upstream.use_bearer_auth();
  w.upstream.add_user("alice", "s3cret", {"repository:app:pull"});
  auto const layer = w.upstream.add_blob(std::string(10000, 'L'));
  w.upstream.add_manifest("app", "v1", "application/vnd.oci.image.manifest.v1+json",
                          R"({"schemaVersion":2,"layers":[{"digest":")" + layer + R"(","size":10000}]})");
  CHECK(w.reg("GET", "/v2/").status == 401);
  auto token = fetch_token(w, "repository:app:pull", "YWxpY2U6czNjcmV0");
  header_pairs bearer{{"Authorization", "Bearer " + token}};
  CHECK(w.reg("GET", "/v2/app/manifests/v1", bearer).status == 200);
  auto redirect = w.reg("GET", "/v2/app/blobs/" + layer, bearer);
  REQUIRE(redirect.status == 307);
  auto blob = w.follow(redirect.headers["location"]);  // without Authorization, as dockerd does
  CHECK(blob.status == 200);
  CHECK(blob.body_bytes == 10000);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 5);
  for (auto const& f : t.har["log"].value("_findings", nlohmann::json::array())) {
    INFO(f.dump(2));
    CHECK((f["severity"] == "info" || f["severity"] == "warning"));
  }
}

TEST_CASE("D-01 REDIRECT_AUTH_FORWARDED: curl --location-trusted sends the Bearer token to Azure storage",
          "[diagnostics][curl]") {
  cloud_world w;
  w.upstream.use_bearer_auth();
  w.upstream.add_user("alice", "s3cret", {"repository:app:pull"});
  auto const layer = w.upstream.add_blob("layer bytes");
  int status = 0;
  auto const token_request =
      "-u alice:s3cret '" +
      w.upstream.url(cloud_registry::auth_host, "/token?service=registry.test&scope=repository:app:pull") +
      "'";
  auto token_json = curl(w, token_request, &status);
  REQUIRE(status == 0);
  w.recorded();
  auto token = nlohmann::json::parse(token_json)["token"].get<std::string>();
  auto const blob_request = "-o /dev/null -w '%{http_code}' --location-trusted -H 'Authorization: Bearer " +
                            token + "' '" + w.upstream.url(registry_host, "/v2/app/blobs/" + layer) + "'";
  auto code = curl(w, blob_request, &status);
  CHECK(status == 0);
  CHECK(code == "400");

  auto t = w.finish();
  REQUIRE(t.entries.size() == 3);
  CHECK(t.entries[1].status == 307);
  CHECK(t.entries[2].host == cloud_registry::storage_host);
  CHECK(request_header(t.entries[2], "Authorization").starts_with("Bearer "));
  CHECK(t.entries[2].status == 400);
  CHECK(response_header(t.entries[2], "x-ms-error-code") == "InvalidAuthenticationInfo");
  require_finding(t, "D-01", "critical", {1, 2}, 2);

  // Replayed: the same commands, the same answers (storage's 400 to the forwarded token).
  auto replay = start_replay(w);
  curl(*replay, token_request, &status);
  CHECK(status == 0);
  CHECK(curl(*replay, blob_request, &status) == code);
  CHECK(status == 0);
  auto const replayed = finish_replay(*replay);
  require_answered_from_trace(replayed);
  CHECK(replayed.entries.size() == 3);
}

TEST_CASE("D-02 REDIRECT_SIGNED_URL_EXPIRED: the client follows the storage URL after its expiry",
          "[diagnostics]") {
  cloud_world w;
  w.upstream.set_presign_lifetime(2s);
  auto const layer = w.upstream.add_blob("layer bytes");
  auto redirect = w.reg("GET", "/v2/app/blobs/" + layer);
  REQUIRE(redirect.status == 307);
  std::this_thread::sleep_for(4s);  // the layer waited in the client's queue
  auto expired = w.follow(redirect.headers["location"]);
  CHECK(expired.status == 403);
  CHECK(expired.body.find("Signature not valid in the specified time frame") != std::string::npos);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  CHECK(response_header(t.entries[1], "x-ms-error-code") == "AuthenticationFailed");
  require_finding(t, "D-02", "error", {1}, 1, evidence_match::includes);
}

TEST_CASE("D-03 REDIRECT_SIGNATURE_MISMATCH: storage rejects the signature of a verbatim-followed URL",
          "[diagnostics]") {
  cloud_world w;
  w.upstream.sign_with_wrong_key();  // the registry still signs with a rotated storage key
  auto const layer = w.upstream.add_blob("layer bytes");
  auto redirect = w.reg("GET", "/v2/app/blobs/" + layer);
  REQUIRE(redirect.status == 307);
  auto refused = w.follow(redirect.headers["location"]);
  CHECK(refused.status == 403);
  CHECK(refused.body.find("Signature did not match") != std::string::npos);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  // regtrace forwarded it byte for byte (the trace redacts the sig value, so compare up to it).
  auto const location = redirect.headers["location"];
  CHECK(t.entries[1].url().substr(0, t.entries[1].url().find("sig=")) ==
        location.substr(0, location.find("sig=")));
  // Not altered by regtrace, so ERROR rather than CRITICAL (catalog D-03).
  require_finding(t, "D-03", "error", {1}, 1, evidence_match::includes);
}

TEST_CASE("D-04 REDIRECT_TARGET_BLOCKED: the storage host of the 307 cannot be reached", "[diagnostics]") {
  cloud_world w;
  auto const layer = digest_of("layer bytes");
  auto const signed_url = w.upstream.presigned_url(layer, std::chrono::system_clock::now() + 10min);
  auto const blocked =
      w.unreachable_url(cloud_registry::storage_host, signed_url.substr(signed_url.find('/', 8)));
  w.upstream.on(
      registry_host, "GET", "/v2/app/blobs/" + layer,
      {reply{307, {{"Location", blocked}, {"Docker-Distribution-Api-Version", "registry/2.0"}}, "", {}}});
  CHECK(w.reg("GET", "/v2/app/blobs/" + layer).status == 307);
  CHECK(w.follow(blocked).status == 502);

  auto t = w.finish();
  REQUIRE(t.entries.size() == 2);
  REQUIRE(t.entries[1].failure);
  CHECK(t.entries[1].failure->where == capture::phase::upstream_connect);
  require_finding(t, "D-04", "critical", {0, 1}, 1);
}

TEST_CASE("D-06 REDIRECT_LOOP: registry and storage redirect to each other ten times", "[diagnostics]") {
  cloud_world w;
  auto const layer = digest_of("layer bytes");
  std::string const blob_target = "/v2/app/blobs/" + layer;
  w.upstream.on(
      registry_host, "GET", blob_target,
      {reply{
          307, {{"Location", w.upstream.url(cloud_registry::storage_host, "/cdn" + blob_target)}}, "", {}}});
  w.upstream.on(cloud_registry::storage_host, "GET", "/cdn" + blob_target,
                {reply{302, {{"Location", w.upstream.url(registry_host, blob_target)}}, "", {}}});
  std::string next = w.upstream.url(registry_host, blob_target);
  for (int hop = 0; hop < 10; ++hop) {  // Go gives up with "stopped after 10 redirects"
    auto answer = w.follow(next);
    REQUIRE(answer.status / 100 == 3);
    next = answer.headers["location"];
  }

  auto t = w.finish();
  REQUIRE(t.entries.size() == 10);
  require_finding(t, "D-06", "error", {0, 9}, 9, evidence_match::includes);
}

TEST_CASE("a healthy skopeo pull with a token and storage redirects yields no error or critical finding",
          "[diagnostics][skopeo]") {
  cloud_world w;
  w.upstream.use_bearer_auth();
  w.upstream.add_user("alice", "s3cret", {"repository:app:pull"});
  auto const layer_bytes = std::string(20000, 'L');
  auto const config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
                      digest_of(layer_bytes) + R"("]}})";
  auto const config_digest = w.upstream.add_blob(config);
  auto const layer_digest = w.upstream.add_blob(layer_bytes);
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"config",
                              {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                               {"digest", config_digest},
                               {"size", config.size()}}},
                             {"layers",
                              {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                {"digest", layer_digest},
                                {"size", layer_bytes.size()}}}}};
  w.upstream.add_manifest("app", "v1", "application/vnd.oci.image.manifest.v1+json", manifest.dump());
  int status = 0;
  auto const copy = [&](proxy_fixture const& via, std::string const& folder, int* copy_status) {
    return skopeo(
        w, via,
        "copy --src-creds alice:s3cret docker://" + w.registry() + "/app:v1 dir:" + (w.dir / folder).string(),
        copy_status, "--src-cert-dir");
  };
  auto output = copy(w.proxy, "pulled", &status);
  INFO(output);
  CHECK(status == 0);

  auto t = w.finish();
  INFO(summary(t));
  CHECK(std::count_if(t.entries.begin(), t.entries.end(), [](auto const& x) {
          return x.host == cloud_registry::storage_host && x.status == 200;
        }) == 2);
  for (auto const& f : t.har["log"].value("_findings", nlohmann::json::array())) {
    INFO(f.dump(2));
    CHECK((f["severity"] == "info" || f["severity"] == "warning"));
  }

  // Replayed: the same pull, offline, gives the same files (the blobs come from --store-bodies).
  auto replay = start_replay(w);
  auto again = copy(*replay, "pulled-again", &status);
  INFO("replayed: " << again);
  CHECK(status == 0);
  CHECK(normalised(again) == normalised(output));
  require_answered_from_trace(finish_replay(*replay));
  for (auto const& file : std::filesystem::directory_iterator(w.dir / "pulled")) {
    INFO(file.path().filename());
    CHECK(slurp(file.path()) == slurp(w.dir / "pulled-again" / file.path().filename()));
  }
}

TEST_CASE("a healthy docker pull (anonymous token, 307 to storage) yields no error or critical finding",
          "[diagnostics][docker]") {
  cloud_world w;
  w.upstream.use_bearer_auth();
  w.upstream.allow_anonymous({"repository:app:pull"});
  // A real layer: dockerd unpacks it and checks the diff_id of the uncompressed tar.
  auto const layout = w.dir / "layer";
  std::filesystem::create_directories(layout / "files");
  std::ofstream(layout / "files" / "hello.txt") << "hello from the scripted registry\n";
  int status = 0;
  run_command("cd '" + layout.string() + "' && tar -cf layer.tar -C files hello.txt && gzip -n -k layer.tar",
              &status);
  REQUIRE(status == 0);
  auto const tar = slurp(layout / "layer.tar"), gzipped = slurp(layout / "layer.tar.gz");
  auto const config =
      R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[")" +
      digest_of(tar) + R"("]}})";
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
                             {"config",
                              {{"mediaType", "application/vnd.docker.container.image.v1+json"},
                               {"digest", w.upstream.add_blob(config)},
                               {"size", config.size()}}},
                             {"layers",
                              {{{"mediaType", "application/vnd.docker.image.rootfs.diff.tar.gzip"},
                                {"digest", w.upstream.add_blob(gzipped)},
                                {"size", gzipped.size()}}}}};
  w.upstream.add_manifest("app", "v1", "application/vnd.docker.distribution.manifest.v2+json",
                          manifest.dump());

  auto const pull = [&](proxy_fixture const& via, std::string const& name, int* pull_status) {
    docker_daemon daemon(w.dir / name, via.port(), via.ca_file(), {w.registry()});
    return daemon.docker("pull " + w.registry() + "/app:v1", pull_status);
  };
  auto const output = pull(w.proxy, "docker", &status);
  INFO(output);
  CHECK(status == 0);

  auto t = w.finish();
  INFO(summary(t));
  CHECK(std::count_if(t.entries.begin(), t.entries.end(), [](auto const& x) {
          return x.host == cloud_registry::storage_host && x.status == 200;
        }) == 2);
  for (auto const& f : t.har["log"].value("_findings", nlohmann::json::array())) {
    INFO(f.dump(2));
    CHECK((f["severity"] == "info" || f["severity"] == "warning"));
  }

  // Replayed: a fresh daemon pulls the same image offline and prints the same digest.
  auto replay = start_replay(w);
  auto const again = pull(*replay, "docker-replayed", &status);
  INFO("replayed: " << again);
  CHECK(status == 0);
  auto const digest_line = [](std::string const& text) {
    auto at = text.find("Digest: sha256:");
    return at == std::string::npos ? std::string{} : text.substr(at, text.find('\n', at) - at);
  };
  CHECK(digest_line(output) != "");
  CHECK(digest_line(again) == digest_line(output));
  require_answered_from_trace(finish_replay(*replay));
}
