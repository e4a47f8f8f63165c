#pragma once
// Hand-written registry traces for the C-* and E-* rule tests: registry documents (errors, manifests,
// indexes) and a builder that appends exchanges the way the proxy records them. The exchange and
// finding helpers come with it (exchanges.hpp, findings.hpp).

#include "capture/model/exchange.hpp"
#include "capture/rules/rules.hpp"
#include "tests/support/exchanges.hpp"
#include "tests/support/findings.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace regtrace::capture::test {

inline constexpr char const* docker_ua =
    "docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84 kernel/6.1.0-13-amd64 os/linux arch/amd64 "
    "UpstreamClient(Docker-Client/20.10.24+dfsg1 \\(linux\\))";
inline constexpr char const* containerd_ua = "containerd/1.6.20~ds1";
inline constexpr char const* skopeo_ua = "skopeo/1.9.3";
inline constexpr char const* curl_ua = "curl/7.88.1";

/// "sha256:" followed by 64 copies of c.
inline std::string digest(char c) {
  return "sha256:" + std::string(64, c);
}

/// A registry error body (catalog §1).
inline std::string registry_error(std::string const& code, std::string const& message) {
  return R"({"errors":[{"code":")" + code + R"(","message":")" + message + R"(","detail":null}]})";
}

/// An image manifest with a config and the given layers.
inline std::string image_manifest(std::string const& config, std::vector<std::string> const& layers) {
  std::string text =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
      R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1000,"digest":")" +
      config + R"("},"layers":[)";
  for (std::size_t i = 0; i < layers.size(); ++i)
    text += std::string(i ? "," : "") +
            R"({"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2000,"digest":")" +
            layers[i] + R"("})";
  return text + "]}";
}

/// An OCI index with one child per (digest, os/arch[/variant]).
inline std::string image_index(std::vector<std::pair<std::string, std::string>> const& children) {
  std::string text =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";
  for (std::size_t i = 0; i < children.size(); ++i) {
    auto const& [d, platform] = children[i];
    auto const slash = platform.find('/');
    auto const rest = platform.substr(slash + 1);
    auto const second = rest.find('/');
    text += std::string(i ? "," : "") +
            R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":500,"digest":")" + d +
            R"(","platform":{"os":")" + platform.substr(0, slash) + R"(","architecture":")" +
            rest.substr(0, second) +
            (second == std::string::npos ? std::string() : R"(","variant":")" + rest.substr(second + 1)) +
            R"("}})";
  }
  return text + "]}";
}

inline constexpr char const* index_type = "application/vnd.oci.image.index.v1+json";
inline constexpr char const* manifest_type = "application/vnd.docker.distribution.manifest.v2+json";

/// Appends exchanges in order, one millisecond apart, as one client talking to registry.test:5443.
struct trace_builder {
  std::vector<exchange> entries;
  std::string user_agent = docker_ua;
  std::string host = "registry.test";
  std::uint16_t port = 5443;

  /// Adds a request to this->host answered with status (and a body when text is not empty).
  exchange& add(std::string method, std::string target, int status, std::string body = {},
                std::string content_type = "application/json") {
    return add_to(host, port, std::move(method), std::move(target), status, std::move(body),
                  std::move(content_type));
  }

  exchange& add_to(std::string const& to_host, std::uint16_t to_port, std::string method, std::string target,
                   int status, std::string body = {}, std::string content_type = "application/json") {
    // Tests hold the returned reference until the next add: never reallocate under them.
    if (entries.capacity() < 256) entries.reserve(256);
    auto x = exchange_to(std::move(method), to_host, std::move(target), status);
    x.port = to_port;
    x.connection_id = 1;
    x.request_index = entries.size() + 1;
    using namespace std::chrono;
    x.started = sys_days{year{2026} / 11 / 27} + hours{10} + milliseconds{static_cast<long>(entries.size())};
    x.request_headers = {{"Host", to_host}, {"User-Agent", user_agent}};
    x.reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "";
    x.response_headers = registry_headers();
    if (!body.empty()) {
      x.response_headers.push_back({"Content-Type", content_type});
      // A HEAD answer describes a body it does not carry.
      if (x.method != "HEAD") x.response_body = text_body(std::move(body));
    }
    entries.push_back(std::move(x));
    return entries.back();
  }

  /// The Bearer-token dance (401 challenge, token with Basic credentials) dockerd does before a pull.
  void token_flow(std::string const& repo, std::string const& actions = "pull") {
    auto& ping = add("GET", "/v2/", 401, registry_error("UNAUTHORIZED", "authentication required"));
    ping.response_headers.push_back(
        {"WWW-Authenticate", R"(Bearer realm="https://auth.test/token",service="registry.test")"});
    auto& token =
        add_to("auth.test", 443, "GET",
               "/token?account=alice&scope=repository%3A" + repo + "%3A" + actions + "&service=registry.test",
               200, R"({"token":"<redacted sha256:3f9a12bc>"})");
    token.request_headers.push_back({"Authorization", "Basic <redacted sha256:aa11bb22> user=alice"});
    token.response_headers.clear();
    token.response_headers.push_back({"Content-Type", "application/json"});
  }

  /// trace_complete false: as the live window sees it, with the client's next request still to come.
  std::vector<rules::finding> diagnose(bool trace_complete = true) const {
    return rules::diagnose(entries, 0, trace_complete);
  }
};

}  // namespace regtrace::capture::test
