#pragma once
// The set-up `regtrace proxy` prints (issue 14): for each container runtime it finds running on the
// machine (dockerd, containerd, podman), or for those named by --setup, how to point it at regtrace
// and trust its CA, and how to take that out again.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace regtrace::proxy {

/// Which runtimes' set-up to print.
struct runtime_set {
  bool docker = false;
  bool containerd = false;
  bool podman = false;
  /// auto found none running: Docker's set-up is shown as the likeliest, and the text says so
  bool guessed = false;
  bool any() const { return docker || containerd || podman; }
  bool operator==(runtime_set const&) const = default;
};

/// --setup's value: "auto" (what runs here; Docker's, marked guessed, when nothing runs), "all",
/// "none", or a comma list of docker, containerd, podman. nullopt for anything else.
std::optional<runtime_set> parse_setup_choice(std::string_view text, runtime_set running);

/// The runtimes running on this machine, from the process names under proc: dockerd, containerd
/// (a Kubernetes node's, or Docker's own), podman or conmon (podman has no daemon: a running
/// container's conmon, or `podman system service`).
runtime_set find_running_runtimes(std::filesystem::path const& proc = "/proc");

/// The set-up text for the runtimes (proxy_url "http://127.0.0.1:8888"), with a line naming --setup all
/// when the set was guessed; empty for none (--setup none).
std::string setup_text(runtime_set runtimes, std::string const& proxy_url, std::string const& ca_path);

}  // namespace regtrace::proxy
