#pragma once
// The Docker daemon as a real client for the tests (TESTBED.md "The Docker daemon, for real"): dockerd
// 20.10 with the vfs driver and no network set-up, its registry traffic sent through regtrace by
// HTTPS_PROXY, trusting regtrace's CA through /etc/docker/certs.d/HOST:PORT/ca.crt. Needs root and the
// docker.io package (scripts/install-deps.sh test).

#include <filesystem>
#include <string>
#include <vector>

namespace regtrace::test {

class docker_daemon {
 public:
  /// Starts dockerd with its data in dir and waits until it answers. trusted: "host:port" registries
  /// whose certs.d entry gets ca_file.
  docker_daemon(std::filesystem::path dir, std::uint16_t proxy_port, std::filesystem::path const& ca_file,
                std::vector<std::string> trusted);
  /// Stops dockerd by its pid file and removes its data and the certs.d entries.
  ~docker_daemon();
  docker_daemon(docker_daemon const&) = delete;
  docker_daemon& operator=(docker_daemon const&) = delete;

  /// `docker ARGUMENTS` against this daemon; output and errors. The exit status goes to *status.
  std::string docker(std::string const& arguments, int* status) const;
  /// dockerd's own log so far.
  std::string log() const;

 private:
  std::filesystem::path dir_;
  std::vector<std::filesystem::path> cert_dirs_;
};

}  // namespace regtrace::test
