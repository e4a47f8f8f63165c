#include "proxy/commands/runtime_setup.hpp"

#include <fstream>
#include <system_error>

namespace regtrace::proxy {
namespace {

// A systemd drop-in giving a service the proxy, then the restart that makes it read it.
std::string drop_in(std::string_view service, std::string const& url) {
  std::string const folder = "/etc/systemd/system/" + std::string(service) + ".service.d";
  return "       sudo mkdir -p " + folder + "\n       printf '[Service]\\nEnvironment=\"HTTPS_PROXY=" + url +
         "\" \"HTTP_PROXY=" + url + "\"\\n' | sudo tee " + folder +
         "/http-proxy.conf\n       sudo systemctl daemon-reload && sudo systemctl restart " + std::string(service) + "\n";
}

std::string docker_text(std::string const& url) {
  return "Docker (dockerd):\n"
         "  1. Trust regtrace's CA for the registry (dockerd re-reads it on every pull):\n"
         "       sudo regtrace ca trust --for docker REGISTRY[:PORT]\n"
         "  2. Give dockerd the proxy, then restart it (systemd drop-in):\n" +
         drop_in("docker", url) +
         "     Docker Engine 23.0+ can use /etc/docker/daemon.json instead: {\"proxies\": {\"https-proxy\": \"" + url +
         "\", \"http-proxy\": \"" + url + "\"}}\n"
         "  Take it out: remove the drop-in (or the proxies), restart docker, then\n"
         "       sudo regtrace ca untrust --for docker REGISTRY[:PORT]\n";
}

std::string containerd_text(std::string const& url) {
  return "containerd (Kubernetes nodes: the kubelet pulls through containerd's CRI; ctr, nerdctl):\n"
         "  1. Trust regtrace's CA: writes /etc/containerd/certs.d/REGISTRY[:PORT]/hosts.toml and checks that\n"
         "     /etc/containerd/config.toml names that folder in config_path (it says what to add if not):\n"
         "       sudo regtrace ca trust --for containerd REGISTRY[:PORT]\n"
         "  2. Give containerd the proxy, then restart it (running containers keep running):\n" +
         drop_in("containerd", url) +
         "  3. Pull: sudo crictl pull REGISTRY/IMAGE (through the CRI, as the kubelet), or with ctr, which\n"
         "     fetches by itself: sudo HTTPS_PROXY=" + url +
         " ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d REGISTRY/IMAGE\n"
         "  Take it out: remove the drop-in, restart containerd, then\n"
         "       sudo regtrace ca untrust --for containerd REGISTRY[:PORT]\n";
}

std::string podman_text(std::string const& url) {
  return "podman (and skopeo, buildah; CRI-O reads the same certs.d):\n"
         "  1. Trust regtrace's CA (/etc/containers/certs.d/REGISTRY[:PORT]/ca.crt, read on every pull):\n"
         "       sudo regtrace ca trust --for podman REGISTRY[:PORT]\n"
         "  2. podman has no daemon: give the proxy to the command,\n"
         "       sudo HTTPS_PROXY=" + url + " podman pull REGISTRY/IMAGE\n"
         "     or to every podman command: [engine] env = [\"https_proxy=" + url +
         "\"] in /etc/containers/containers.conf.\n"
         "     CRI-O: the drop-in of containerd's step 2, for crio.service.\n"
         "  Take it out: sudo regtrace ca untrust --for podman REGISTRY[:PORT]\n";
}

constexpr std::string_view keep_proxied =
    "Keep the registry proxied: NO_PROXY (and no_proxy) must not match it. Kubernetes nodes often set\n"
    "NO_PROXY=.svc,.cluster.local,10.0.0.0/8,...: a registry under those names or addresses bypasses regtrace.\n"
    "Go programs (dockerd, containerd, podman, skopeo) never proxy \"localhost\" or 127.x addresses: give a\n"
    "local registry a name and map it here with --resolve NAME:PORT:127.0.0.1.\n";

bool process_named(std::filesystem::path const& pid_folder, std::string_view name) {
  std::ifstream comm(pid_folder / "comm");
  std::string line;
  return std::getline(comm, line) && line == name;
}

}  // namespace

std::optional<runtime_set> parse_setup_choice(std::string_view text, runtime_set running) {
  if (text == "auto") return running.any() ? running : runtime_set{.docker = true, .guessed = true};
  if (text == "all") return runtime_set{true, true, true};
  if (text == "none") return runtime_set{};
  runtime_set chosen;
  for (std::size_t start = 0; start <= text.size();) {
    auto const end = std::min(text.find(',', start), text.size());
    auto const name = text.substr(start, end - start);
    if (name == "docker") chosen.docker = true;
    else if (name == "containerd") chosen.containerd = true;
    else if (name == "podman") chosen.podman = true;
    else return std::nullopt;
    start = end + 1;
  }
  return chosen;
}

runtime_set find_running_runtimes(std::filesystem::path const& proc) {
  runtime_set found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(proc, ec), end; !ec && it != end; it.increment(ec)) {
    auto const name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    found.docker = found.docker || process_named(it->path(), "dockerd");
    found.containerd = found.containerd || process_named(it->path(), "containerd");
    found.podman = found.podman || process_named(it->path(), "podman") || process_named(it->path(), "conmon");
  }
  return found;
}

std::string setup_text(runtime_set runtimes, std::string const& proxy_url, std::string const& ca_path) {
  if (!runtimes.any()) return {};
  std::string text;
  if (runtimes.docker) text += docker_text(proxy_url);
  if (runtimes.containerd) text += (text.empty() ? "" : "\n") + containerd_text(proxy_url);
  if (runtimes.podman) text += (text.empty() ? "" : "\n") + podman_text(proxy_url);
  text += "\n" + std::string(keep_proxied);
  text += "Other clients: curl --proxy " + proxy_url + " --cacert " + ca_path + " https://REGISTRY/v2/\n";
  if (runtimes.guessed) text += "No container runtime is running here: that was Docker's set-up; --setup all shows every runtime's.\n";
  return text;
}

}  // namespace regtrace::proxy
