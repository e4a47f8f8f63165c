#pragma once
// Hand-written client operations (catalog §2, the healthy flows of each client) for the report's
// operations tests: a docker pull through a storage redirect, a push with a mount and an upload, a
// login, containerd's pull, and the report made of them. Built on registry_traces.hpp.

#include "capture/har/har_reader.hpp"
#include "capture/report/report.hpp"
#include "tests/support/registry_traces.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace regtrace::capture::test {

/// A pre-signed S3 URL on storage.test for the blob digest(c) (catalog §7.1: query evidence).
inline std::string storage_url(char c) {
  return "https://storage.test/docker/registry/v2/blobs/sha256/" + std::string(2, c) + "/" +
         std::string(64, c) +
         "/data?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261127T100000Z&X-Amz-Signature=5ec7e7";
}

/// A binary body of this many bytes, complete or cut.
inline body_record binary_body(std::uint64_t bytes, bool complete = true) {
  body_record body;
  body.bytes = bytes;
  body.sha256 = std::string(64, 'f');
  body.complete = complete;
  return body;
}

/// GET of layer digest(c): 307 to storage.test, then the storage GET answered 200 with bytes; the
/// storage request is returned for tests to break.
inline exchange& layer_via_storage(trace_builder& b, std::string const& repo, char c,
                                   std::uint64_t bytes = 4u << 20) {
  auto& redirect = b.add("GET", "/v2/" + repo + "/blobs/" + digest(c), 307);
  redirect.reason = "Temporary Redirect";
  redirect.response_headers.push_back({"Location", storage_url(c)});
  auto const url = storage_url(c);
  auto& data = b.add_to("storage.test", 443, "GET", url.substr(url.find("/docker/")), 200);
  data.response_headers = {{"Content-Type", "application/octet-stream"}};
  data.response_body = binary_body(bytes);
  return data;
}

/// dockerd pulling repo:tag: ping and token, the index, its linux/amd64 manifest, the config and
/// layers '1' and '2' through storage redirects.
inline trace_builder docker_pull(std::string const& repo = "team/app", std::string const& tag = "1.0") {
  trace_builder b;
  b.token_flow(repo);
  b.add("GET", "/v2/" + repo + "/manifests/" + tag, 200, image_index({{digest('m'), "linux/amd64"}}),
        index_type);
  b.add("GET", "/v2/" + repo + "/manifests/" + digest('m'), 200,
        image_manifest(digest('c'), {digest('1'), digest('2')}), manifest_type);
  b.add("GET", "/v2/" + repo + "/blobs/" + digest('c'), 200, R"({"architecture":"amd64","os":"linux"})");
  layer_via_storage(b, repo, '1');
  layer_via_storage(b, repo, '2');
  return b;
}

/// dockerd pushing team/app:1.0: config digest('c') uploaded (POST, PATCH, PUT), layer digest('1')
/// mounted from team/base, then the manifest PUT.
inline trace_builder docker_push() {
  trace_builder b;
  b.token_flow("team/app", "pull,push");
  b.add("HEAD", "/v2/team/app/blobs/" + digest('1'), 404);
  b.add("HEAD", "/v2/team/app/blobs/" + digest('c'), 404);
  auto& mount = b.add("POST", "/v2/team/app/blobs/uploads/?mount=" + digest('1') + "&from=team/base", 201);
  mount.response_headers.push_back({"Location", "/v2/team/app/blobs/" + digest('1')});
  auto& start = b.add("POST", "/v2/team/app/blobs/uploads/", 202);
  start.response_headers.push_back({"Location", "/v2/team/app/blobs/uploads/5a1e?_state=s1"});
  auto& patch = b.add("PATCH", "/v2/team/app/blobs/uploads/5a1e?_state=s1", 202);
  patch.request_body = binary_body(1500);
  patch.response_headers.push_back({"Location", "/v2/team/app/blobs/uploads/5a1e?_state=s2"});
  b.add("PUT", "/v2/team/app/blobs/uploads/5a1e?_state=s2&digest=" + digest('c'), 201);
  auto& manifest = b.add("PUT", "/v2/team/app/manifests/1.0", 201);
  manifest.request_body = text_body(image_manifest(digest('c'), {digest('1')}));
  manifest.request_headers.push_back({"Content-Type", manifest_type});
  return b;
}

/// containerd pulling repo:tag (catalog §2): HEAD → 401, POST token, HEAD again, the manifest by
/// digest, the config and layer '1' served by the registry itself.
inline trace_builder containerd_pull(std::string const& repo = "team/app", std::string const& tag = "1.0") {
  trace_builder b;
  b.user_agent = containerd_ua;
  auto& challenged = b.add("HEAD", "/v2/" + repo + "/manifests/" + tag, 401);
  challenged.response_headers.push_back(
      {"WWW-Authenticate",
       R"(Bearer realm="https://auth.test/token",service="registry.test",scope="repository:)" + repo +
           R"(:pull")"});
  auto& token =
      b.add_to("auth.test", 443, "POST", "/token", 200, R"({"access_token":"<redacted sha256:1>"})");
  token.request_headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  token.request_body = text_body(
      "grant_type=password&username=carol&service=registry.test&scope=repository%3A" + repo + "%3Apull");
  auto& head = b.add("HEAD", "/v2/" + repo + "/manifests/" + tag, 200);
  head.response_headers.push_back({"Content-Type", manifest_type});
  b.add("GET", "/v2/" + repo + "/manifests/" + digest('m'), 200, image_manifest(digest('c'), {digest('1')}),
        manifest_type);
  b.add("GET", "/v2/" + repo + "/blobs/" + digest('c'), 200, R"({"architecture":"amd64"})");
  b.add("GET", "/v2/" + repo + "/blobs/" + digest('1'), 200).response_body = binary_body(2u << 20);
  return b;
}

/// The entries of several clients merged one by one (a, b, a, b, …), started 1 ms apart.
inline std::vector<exchange> interleave(std::vector<exchange> const& a, std::vector<exchange> const& b) {
  std::vector<exchange> out;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size()) out.push_back(a[i]);
    if (i < b.size()) out.push_back(b[i]);
  }
  for (std::size_t i = 0; i < out.size(); ++i) out[i].started = trace_time(static_cast<std::int64_t>(i));
  return out;
}

/// The report of a trace (log.entries positions 0, 1, …) with the findings given, not diagnosed:
/// their evidence indexes are positions in entries.
inline report::report report_of(std::vector<exchange> entries, std::vector<rules::finding> findings = {}) {
  har_read_result read;
  for (std::size_t i = 0; i < entries.size(); ++i) read.entry_indexes.push_back(i);
  read.exchanges = std::move(entries);
  read.creator = "regtrace";
  return report::make_report(std::move(read), "trace.har", std::move(findings));
}

}  // namespace regtrace::capture::test
