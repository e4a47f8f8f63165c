#include "capture/registry/user_agent.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using regtrace::capture::registry::client_runtime_of;

TEST_CASE("each runtime is named from its User-Agent, with its version", "[user_agent]") {
  // As sent by Debian 12's dockerd, ctr, podman and skopeo (captured), and by other clients.
  auto docker = client_runtime_of(
      "docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84 kernel/6.1.0 os/linux arch/amd64 "
      "UpstreamClient(Docker-Client/20.10.24+dfsg1 \\(linux\\))");
  CHECK(docker.name == "docker");
  CHECK(docker.version == "20.10.24+dfsg1");
  CHECK(docker.label == "Docker Engine 20.10.24+dfsg1");
  CHECK(client_runtime_of("containerd/1.6.20~ds1").label == "containerd 1.6.20~ds1");
  auto podman = client_runtime_of("containers/5.23.1 (github.com/containers/image)");
  CHECK(podman.name == "podman");
  CHECK(podman.version == "5.23.1");
  CHECK(client_runtime_of("skopeo/1.9.3").name == "skopeo");
  CHECK(client_runtime_of("cri-o/1.28.1 go/go1.20.10 os/linux arch/amd64").name == "cri-o");
  CHECK(client_runtime_of("crane/v0.19.0 go-containerregistry/v0.19.0").name == "crane");
  CHECK(client_runtime_of("go-containerregistry/v0.19.0").name == "crane");
  CHECK(client_runtime_of("curl/7.88.1").label == "curl 7.88.1");
}

TEST_CASE("Go's default User-Agent names Go, not a version of the program", "[user_agent]") {
  auto go = client_runtime_of("Go-http-client/1.1");
  CHECK(go.name == "go");
  CHECK(go.version.empty());
  CHECK(go.label == "a Go program with Go's default User-Agent");
}

TEST_CASE("an unknown or odd User-Agent is kept as its product token, bounded", "[user_agent]") {
  CHECK(client_runtime_of("").name.empty());
  CHECK(client_runtime_of("   ").name.empty());
  auto helm = client_runtime_of("Helm/3.14.0");
  CHECK(helm.name == "helm");
  CHECK(helm.label == "Helm 3.14.0");
  CHECK(client_runtime_of("nothing-but-a-name").label == "nothing-but-a-name");
  auto huge = client_runtime_of(std::string(100000, 'x') + "/1");
  CHECK(huge.name.size() <= 80);
  CHECK(huge.label.size() <= 80);
}

TEST_CASE("a trace's clients are listed once each, in order of first request, with counts", "[user_agent]") {
  using regtrace::capture::exchange;
  auto request_from = [](std::string agent) {
    exchange x;
    if (!agent.empty()) x.request_headers.push_back({"User-Agent", std::move(agent)});
    return x;
  };
  std::vector<exchange> trace{request_from("docker/20.10.24 go/go1.19.8"), request_from("curl/7.88.1"),
                              request_from(""), request_from("docker/20.10.24 go/go1.19.8 other"),
                              request_from("containerd/1.6.20~ds1")};
  auto clients = regtrace::capture::registry::clients_of(trace);
  REQUIRE(clients.size() == 3);
  CHECK(clients[0].runtime.label == "Docker Engine 20.10.24");
  CHECK(clients[0].requests == 2);
  CHECK(clients[0].user_agent == "docker/20.10.24 go/go1.19.8");
  CHECK(clients[1].runtime.name == "curl");
  CHECK(clients[2].runtime.name == "containerd");
}

TEST_CASE("a trace with more distinct clients than max_clients keeps the first ones", "[user_agent]") {
  std::vector<regtrace::capture::exchange> trace(40);
  for (std::size_t i = 0; i < trace.size(); ++i)
    trace[i].request_headers.push_back({"User-Agent", "tool" + std::to_string(i) + "/1"});
  auto clients = regtrace::capture::registry::clients_of(trace);
  REQUIRE(clients.size() == regtrace::capture::registry::max_clients);
  std::size_t counted = 0;
  for (auto const& c : clients) counted += c.requests;
  CHECK(counted == trace.size());
}
