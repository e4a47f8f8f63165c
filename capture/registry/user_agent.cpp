#include "capture/registry/user_agent.hpp"

#include "capture/text/ascii.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace regtrace::capture::registry {
namespace {

// Product tokens (RFC 9110 §10.1.5: product "/" version), lower-cased, and how to name them.
struct known_product {
  std::string_view token;
  std::string_view name;
  std::string_view label;
};

constexpr std::array<known_product, 12> known_products{{
    {"docker", "docker", "Docker Engine"},
    {"containerd", "containerd", "containerd"},
    // podman 4 and buildah send containers/image's token; skopeo sends its own.
    {"containers", "podman", "podman or another containers/image client (buildah, CRI-O)"},
    {"libpod", "podman", "podman"},
    {"podman", "podman", "podman"},
    {"skopeo", "skopeo", "skopeo"},
    {"cri-o", "cri-o", "CRI-O"},
    {"buildkit", "buildkit", "BuildKit"},
    {"crane", "crane", "crane"},
    {"go-containerregistry", "crane", "go-containerregistry (crane, ko, kaniko)"},
    {"curl", "curl", "curl"},
    {"go-http-client", "go", "a Go program with Go's default User-Agent"},
}};

constexpr std::size_t max_token_bytes = 80;

// The first product token: "name/version" up to the first space; the version may be absent.
std::pair<std::string_view, std::string_view> first_product(std::string_view agent) {
  agent = trim_whitespace(agent);
  // A name or version longer than any real one is a peer's noise: the report shows at most this much.
  auto const token = agent.substr(0, std::min(agent.find_first_of(" \t"), max_token_bytes));
  auto const slash = token.find('/');
  if (slash == std::string_view::npos) return {token, {}};
  return {token.substr(0, slash), token.substr(slash + 1)};
}

// Go's client names itself Go-http-client/1.1: that is HTTP's version, not the program's.
bool version_is_meaningful(std::string_view name) { return name != "go"; }

}  // namespace

client_runtime client_runtime_of(std::string_view user_agent) {
  auto const [product, version] = first_product(user_agent);
  if (product.empty()) return {};
  auto const token = to_lower(product);
  for (auto const& known : known_products) {
    if (token != known.token) continue;
    client_runtime runtime{std::string(known.name), std::string(version), std::string(known.label)};
    if (!version_is_meaningful(runtime.name)) runtime.version.clear();
    if (!runtime.version.empty()) runtime.label += " " + runtime.version;
    return runtime;
  }
  client_runtime other{token, std::string(version), std::string(product)};
  if (!other.version.empty()) other.label += " " + other.version;
  return other;
}

bool count_client(std::vector<client_summary>& clients, exchange const& x) {
  auto const* agent = find_header(x.request_headers, "User-Agent");
  if (!agent || agent->empty()) return false;
  auto runtime = client_runtime_of(*agent);
  auto same = std::ranges::find(clients, runtime, &client_summary::runtime);
  bool const added = same == clients.end() && clients.size() < max_clients;
  if (added) {
    clients.push_back({std::move(runtime), agent->substr(0, 512), 0});
    same = clients.end() - 1;
  } else if (same == clients.end()) {
    same = clients.end() - 1;  // beyond max_clients: counted with the last one kept
  }
  ++same->requests;
  return added;
}

std::vector<client_summary> clients_of(std::span<exchange const> trace) {
  std::vector<client_summary> clients;
  for (auto const& x : trace) count_client(clients, x);
  return clients;
}

nlohmann::json clients_json(std::vector<client_summary> const& clients) {
  auto out = nlohmann::json::array();
  for (auto const& c : clients)
    out.push_back({{"runtime", c.runtime.name},
                   {"version", c.runtime.version},
                   {"label", c.runtime.label},
                   {"user_agent", c.user_agent},
                   {"requests", c.requests}});
  return out;
}

}  // namespace regtrace::capture::registry
