// Starting and stopping a private dockerd for a test.
#include "tests/support/docker_daemon.hpp"

#include "tests/support/test_support.hpp"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace regtrace::test {

namespace {

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

pid_t read_pid(std::filesystem::path const& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

}  // namespace

docker_daemon::docker_daemon(std::filesystem::path dir, std::uint16_t proxy_port,
                             std::filesystem::path const& ca_file, std::vector<std::string> trusted)
    : dir_(std::move(dir)) {
  for (auto const& registry : trusted) {
    auto certs = std::filesystem::path("/etc/docker/certs.d") / registry;
    std::filesystem::create_directories(certs);
    std::filesystem::copy_file(ca_file, certs / "ca.crt", std::filesystem::copy_options::overwrite_existing);
    cert_dirs_.push_back(certs);
  }
  std::filesystem::create_directories(dir_);
  // dockerd 20.10 takes its proxy from the environment it starts with; NO_PROXY must not exempt .test.
  std::string const d = "'" + dir_.string() + "'";
  int status = 0;
  run_command("env -u NO_PROXY -u no_proxy HTTPS_PROXY=http://127.0.0.1:" + std::to_string(proxy_port) +
                  " setsid dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs"
                  " --data-root " +
                  d + "/root --exec-root " + d + "/exec -H unix://" + d +
                  "/docker.sock"
                  " --pidfile " +
                  d + "/docker.pid > " + d + "/dockerd.log 2>&1 < /dev/null &",
              &status);
  for (int tries = 0; tries < 600; ++tries) {  // dockerd takes a few seconds to initialise
    if (docker("version --format '{{.Server.Version}}'", &status), status == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("dockerd did not start; its log:\n" + log());
}

docker_daemon::~docker_daemon() {
  pid_t const pid = read_pid(dir_ / "docker.pid");
  if (alive(pid)) {
    ::kill(pid, SIGTERM);
    for (int tries = 0; tries < 300 && alive(pid); ++tries)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::error_code ignored;
  for (auto const& certs : cert_dirs_) std::filesystem::remove_all(certs, ignored);
  std::filesystem::remove_all(dir_, ignored);
}

std::string docker_daemon::docker(std::string const& arguments, int* status) const {
  return run_command("DOCKER_HOST=unix://'" + dir_.string() + "'/docker.sock docker " + arguments + " 2>&1",
                     status);
}

std::string docker_daemon::log() const {
  std::ifstream in(dir_ / "dockerd.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace regtrace::test
