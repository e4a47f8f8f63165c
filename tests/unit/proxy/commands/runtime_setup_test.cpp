#include "proxy/commands/runtime_setup.hpp"
#include "tests/support/files.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace regtrace::proxy;

namespace {

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

// A /proc with one process per name.
std::filesystem::path fake_proc(std::string const& test, std::initializer_list<char const*> names) {
  auto const proc = regtrace::capture::test::scratch_dir(test);
  int pid = 100;
  for (auto const* name : names) {
    auto const folder = proc / std::to_string(pid++);
    std::filesystem::create_directories(folder);
    std::ofstream(folder / "comm") << name << "\n";
  }
  std::filesystem::create_directories(proc / "sys");  // not a process: skipped
  return proc;
}

}  // namespace

TEST_CASE("--setup: auto is what runs, all, none, or a list", "[setup]") {
  runtime_set const running{false, true, false};
  CHECK(parse_setup_choice("auto", running) == running);
  CHECK(parse_setup_choice("auto", {}) == runtime_set{.docker = true, .guessed = true});
  CHECK(parse_setup_choice("all", {}) == runtime_set{true, true, true});
  CHECK(parse_setup_choice("none", running) == runtime_set{});
  CHECK(parse_setup_choice("containerd,podman", {}) == runtime_set{false, true, true});
  CHECK_FALSE(parse_setup_choice("cri-o", {}).has_value());
  CHECK_FALSE(parse_setup_choice("docker,", {}).has_value());
}

TEST_CASE("the runtimes running are found by process name", "[setup]") {
  CHECK(find_running_runtimes(fake_proc("setup-k8s", {"systemd", "containerd", "kubelet", "containerd-shim"})) ==
        runtime_set{false, true, false});
  CHECK(find_running_runtimes(fake_proc("setup-docker", {"dockerd", "containerd"})) == runtime_set{true, true, false});
  CHECK(find_running_runtimes(fake_proc("setup-podman", {"conmon"})) == runtime_set{false, false, true});
  CHECK_FALSE(find_running_runtimes(fake_proc("setup-none", {"bash", "dockerd-helper"})).any());
  CHECK_FALSE(find_running_runtimes("/nonexistent-proc").any());
}

TEST_CASE("each runtime's set-up: trust, proxy, how to take it out", "[setup]") {
  auto const url = std::string("http://127.0.0.1:8888");
  auto const k8s = setup_text({false, true, false}, url, "/ca.crt");
  CHECK(contains(k8s, "sudo regtrace ca trust --for containerd REGISTRY[:PORT]"));
  CHECK(contains(k8s, "/etc/systemd/system/containerd.service.d/http-proxy.conf"));
  CHECK(contains(k8s, "HTTPS_PROXY=" + url));
  CHECK(contains(k8s, "crictl pull"));
  CHECK(contains(k8s, "--hosts-dir /etc/containerd/certs.d"));
  CHECK(contains(k8s, "ca untrust --for containerd"));
  CHECK(contains(k8s, "NO_PROXY"));
  CHECK_FALSE(contains(k8s, "Docker (dockerd)"));

  auto const podman = setup_text({false, false, true}, url, "/ca.crt");
  CHECK(contains(podman, "ca trust --for podman"));
  CHECK(contains(podman, "containers.conf"));

  auto const docker = setup_text({true, false, false}, url, "/ca.crt");
  CHECK(contains(docker, "daemon.json"));
  CHECK(contains(docker, "/etc/systemd/system/docker.service.d/http-proxy.conf"));

  CHECK_FALSE(contains(docker, "--setup all"));

  // Nothing found: Docker's, and how to see the others.
  auto const fallback = setup_text(*parse_setup_choice("auto", {}), url, "/ca.crt");
  CHECK(contains(fallback, "Docker (dockerd)"));
  CHECK(contains(fallback, "--setup all"));

  // --setup none: no set-up at all.
  CHECK(setup_text(*parse_setup_choice("none", {true, true, true}), url, "/ca.crt").empty());
}
