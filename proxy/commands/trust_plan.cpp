#include "proxy/commands/trust_plan.hpp"

#include "capture/text/ascii.hpp"
#include "proxy/config/connect_target.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace regtrace::proxy {
namespace {

constexpr std::string_view marker = "# Written by `regtrace ca trust`; `regtrace ca untrust` removes it.\n";
constexpr std::string_view regtrace_ca_file = "regtrace-ca.crt";

constexpr std::array<std::string_view, 4> runtime_names{"docker", "containerd", "podman", "system"};

// certs.d folders are named exactly as the registry appears in image names: HOST or HOST:PORT.
void check_registry(std::string const& registry) {
  bool const valid =
      parse_connect_authority(registry).has_value() ||
      (registry.find(':') == std::string::npos && parse_connect_authority(registry + ":443").has_value());
  if (!valid || registry.find('/') != std::string::npos)
    throw std::runtime_error("\"" + registry + "\" is not a registry HOST or HOST:PORT (as in image names)");
}

void check_registries(trust_runtime runtime, std::vector<std::string> const& registries) {
  if (runtime == trust_runtime::system) {
    if (!registries.empty())
      throw std::runtime_error("--for system trusts the CA for every host: give no HOST (got " + registries.front() + ")");
    return;
  }
  if (registries.empty())
    throw std::runtime_error("name the registries to trust regtrace's CA for: HOST[:PORT] as in image names");
  for (auto const& registry : registries) check_registry(registry);
}

// Docker Hub's images are named docker.io/..., its API is at registry-1.docker.io (containerd's own
// default for the docker.io namespace).
std::string server_url(std::string const& registry) {
  return "https://" + (registry == "docker.io" ? std::string("registry-1.docker.io") : registry);
}

// The registry as containerd's only host, with regtrace's CA. containerd 1.6 reads a hosts.toml only
// when it has a [host] table (without one it falls back to *.crt files); an empty one keeps `server`
// the only host, where a [host."https://..."] entry would be a second one that ctr tries after a failure.
std::string hosts_toml(std::string const& registry, std::filesystem::path const& ca_file) {
  return std::string(marker) + "server = \"" + server_url(registry) + "\"\nca = \"" + ca_file.string() +
         "\"\n\n# containerd 1.6 reads this file only when it has a [host] table: an empty one.\n[host]\n";
}

// ca.crt, unless the registry's folder has a ca.crt of someone else's: then regtrace-ca.crt beside it
// (dockerd and containers/image read every *.crt of the folder as a CA).
std::filesystem::path pem_path(std::filesystem::path const& folder, file_reader const& read, trust_plan& plan) {
  auto const ca = folder / "ca.crt";
  auto const existing = read(ca);
  if (!existing || written_by_regtrace(*existing)) return ca;
  plan.notes.push_back(ca.string() + " exists and is not regtrace's: kept it, and wrote regtrace's CA beside it as " +
                       std::string(regtrace_ca_file) + " (every *.crt there is trusted)");
  return folder / regtrace_ca_file;
}

void plan_containerd(std::string const& registry, std::filesystem::path const& folder, std::string const& pem,
                     file_reader const& read, trust_plan& plan) {
  auto const toml = folder / "hosts.toml";
  if (auto existing = read(toml); existing && !written_by_regtrace(*existing)) {
    throw std::runtime_error(toml.string() + " exists and was not written by regtrace; add to its host section:\n  ca = \"" +
                             (folder / regtrace_ca_file).string() + "\"\nafter copying regtrace's CA there (regtrace ca export -o " +
                             (folder / regtrace_ca_file).string() + ")");
  }
  plan.files.push_back({folder / regtrace_ca_file, pem});
  plan.files.push_back({toml, hosts_toml(registry, folder / regtrace_ca_file)});
}

// Every path plan_trust could write for the registry, whichever of them it chose.
std::vector<std::filesystem::path> possible_paths(trust_runtime runtime, std::string const& registry,
                                                  std::filesystem::path const& dir) {
  if (runtime == trust_runtime::system) return {dir / regtrace_ca_file};
  auto const folder = dir / registry;
  if (runtime == trust_runtime::containerd) return {folder / "hosts.toml", folder / regtrace_ca_file};
  return {folder / "ca.crt", folder / regtrace_ca_file};
}

// "/etc/containerd/certs.d/" and "/etc/containerd/./certs.d" are the folder "/etc/containerd/certs.d".
std::string normal_folder(std::filesystem::path const& folder) {
  auto text = folder.lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

// True when line is `config_path = "A:B"` and one of its folders (containerd's search path, ':'
// separated) is wanted.
bool config_path_names(std::string_view line, std::string const& wanted) {
  line = capture::trim_whitespace(line);
  if (!line.starts_with("config_path")) return false;
  auto const open = line.find('"');
  auto const close = line.rfind('"');
  if (open == std::string_view::npos || close <= open) return false;
  auto const paths = line.substr(open + 1, close - open - 1);
  for (std::size_t start = 0; start <= paths.size();) {
    auto const end = std::min(paths.find(':', start), paths.size());
    if (normal_folder(paths.substr(start, end - start)) == wanted) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::optional<trust_runtime> trust_runtime_from_string(std::string_view name) {
  for (std::size_t i = 0; i < runtime_names.size(); ++i)
    if (capture::iequals(name, runtime_names[i])) return static_cast<trust_runtime>(i);
  return std::nullopt;
}

std::string_view to_string(trust_runtime runtime) { return runtime_names[static_cast<std::size_t>(runtime)]; }

std::filesystem::path default_trust_dir(trust_runtime runtime) {
  switch (runtime) {
    case trust_runtime::docker: return "/etc/docker/certs.d";
    case trust_runtime::containerd: return "/etc/containerd/certs.d";
    case trust_runtime::podman: return "/etc/containers/certs.d";
    case trust_runtime::system: break;
  }
  return "/usr/local/share/ca-certificates";
}

bool written_by_regtrace(std::string_view content) { return content.starts_with(marker); }

trust_plan plan_trust(trust_runtime runtime, std::vector<std::string> const& registries,
                      std::filesystem::path const& dir, std::string const& ca_pem, file_reader const& read) {
  check_registries(runtime, registries);
  trust_plan plan;
  auto const pem = std::string(marker) + ca_pem;
  if (runtime == trust_runtime::system) {
    plan.files.push_back({dir / regtrace_ca_file, pem});
    plan.update_system_store = true;
    return plan;
  }
  for (auto const& registry : registries) {
    auto const folder = dir / registry;
    if (runtime == trust_runtime::containerd)
      plan_containerd(registry, folder, pem, read, plan);
    else
      plan.files.push_back({pem_path(folder, read, plan), pem});
  }
  return plan;
}

trust_plan plan_untrust(trust_runtime runtime, std::vector<std::string> const& registries,
                        std::filesystem::path const& dir, file_reader const& read) {
  check_registries(runtime, registries);
  trust_plan plan;
  plan.update_system_store = runtime == trust_runtime::system;
  auto const consider = [&](std::filesystem::path const& path) {
    auto const existing = read(path);
    if (!existing) return;
    if (written_by_regtrace(*existing))
      plan.files.push_back({path, {}});
    else
      plan.notes.push_back("left " + path.string() + ": regtrace did not write it");
  };
  if (runtime == trust_runtime::system) {
    for (auto const& path : possible_paths(runtime, "", dir)) consider(path);
    return plan;
  }
  for (auto const& registry : registries)
    for (auto const& path : possible_paths(runtime, registry, dir)) consider(path);
  return plan;
}

std::string containerd_config_advice(std::optional<std::string> const& config_text,
                                     std::filesystem::path const& config_file,
                                     std::filesystem::path const& certs_dir) {
  auto const wanted = normal_folder(certs_dir);
  std::string_view const text = config_text ? std::string_view(*config_text) : std::string_view{};
  for (std::size_t start = 0; start < text.size();) {
    auto const end = std::min(text.find('\n', start), text.size());
    if (config_path_names(text.substr(start, end - start), wanted)) return {};
    start = end + 1;
  }
  return "containerd's CRI (kubelet, crictl) reads hosts.toml only from the folders named by config_path, and " +
         (config_text ? config_file.string() + " does not name " + wanted : config_file.string() + " does not exist") +
         ". Add to " + config_file.string() +
         "\n  [plugins.\"io.containerd.grpc.v1.cri\".registry]      # containerd 1.x (config version = 2)\n"
         "    config_path = \"" + wanted + "\"\n"
         "  (containerd 2.x: [plugins.\"io.containerd.cri.v1.images\".registry], config version = 3)\n"
         "then restart containerd: sudo systemctl restart containerd. ctr reads it without that: ctr images "
         "pull --hosts-dir " + wanted + " ...";
}

}  // namespace regtrace::proxy
