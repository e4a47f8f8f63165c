#pragma once
// Which container runtime sent a request, read from its User-Agent (issue 14: the HAR and the report
// name the client). Runtimes name themselves by a product token ("docker/20.10.24", "containerd/1.6.20",
// "skopeo/1.9.3"); podman, buildah and CRI-O's older releases share containers/image's token.

#include "capture/model/exchange.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::registry {

/// The client as its User-Agent names it. Empty name when the User-Agent is empty.
struct client_runtime {
  std::string name;     ///< "docker", "containerd", "podman", "skopeo", "cri-o", "buildkit", "crane",
                        ///< "curl", "go" (a Go program that kept Go's default), or the product token's name
  std::string version;  ///< "20.10.24+dfsg1", "" when the User-Agent gives none
  std::string label;    ///< for people: "Docker Engine 20.10.24+dfsg1", "podman or another containers/image client 5.23.1"
  bool operator==(client_runtime const&) const = default;
};

/// Reads a User-Agent value. Never throws on any input; at most the first product token is read.
client_runtime client_runtime_of(std::string_view user_agent);

/// One client of a trace: a runtime and version, and how many requests it sent.
struct client_summary {
  client_runtime runtime;
  std::string user_agent;    ///< the first User-Agent seen from it, whole
  std::size_t requests = 0;  ///< entries whose request carried its User-Agent
  bool operator==(client_summary const&) const = default;
};

/// Counts x's request for its client; true when that client is new to the list.
bool count_client(std::vector<client_summary>& clients, exchange const& x);

/// The clients of a trace, in order of first request; requests without a User-Agent are not counted.
/// At most max_clients are kept (a trace of a fleet's proxy sees a handful), the rest counted in the last.
std::vector<client_summary> clients_of(std::span<exchange const> trace);
inline constexpr std::size_t max_clients = 16;

/// [{"runtime", "version", "label", "user_agent", "requests"}...]: the report's `clients` and the
/// trace's log._regtrace.clients.
nlohmann::json clients_json(std::vector<client_summary> const& clients);

}  // namespace regtrace::capture::registry
