#pragma once
// What `regtrace ca trust --for RUNTIME` writes and `ca untrust` removes (issue 14), decided without
// touching the disk so every runtime's layout is unit-tested; ca_trust_command.cpp carries it out.
//
//   docker      /etc/docker/certs.d/HOST[:PORT]/ca.crt            read by dockerd on every pull
//   containerd  /etc/containerd/certs.d/HOST[:PORT]/hosts.toml   naming regtrace-ca.crt beside it
//               (CRI reads it through config_path; ctr through --hosts-dir)
//   podman      /etc/containers/certs.d/HOST[:PORT]/ca.crt       podman, skopeo, buildah, CRI-O
//   system      /usr/local/share/ca-certificates/regtrace-ca.crt, then update-ca-certificates
//
// Every file starts with a marker line naming regtrace, so untrust removes only files regtrace wrote.
// A PEM file may carry text before its first BEGIN line (RFC 7468 §5.2; Go's pem.Decode and OpenSSL
// skip it), and a TOML file a comment.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::proxy {

enum class trust_runtime { docker, containerd, podman, system };
std::optional<trust_runtime> trust_runtime_from_string(std::string_view name);
std::string_view to_string(trust_runtime runtime);
/// The runtime's own folder: /etc/docker/certs.d, /etc/containerd/certs.d, /etc/containers/certs.d,
/// /usr/local/share/ca-certificates.
std::filesystem::path default_trust_dir(trust_runtime runtime);

/// True when a file's text starts with regtrace's marker line.
bool written_by_regtrace(std::string_view content);

struct planned_file {
  std::filesystem::path path;
  std::string content;  ///< what trust writes; untrust removes the file when it is regtrace's
};

struct trust_plan {
  std::vector<planned_file> files;
  bool update_system_store = false;  ///< run update-ca-certificates afterwards
  std::vector<std::string> notes;    ///< sentences for the user (a file written beside a foreign one)
};

/// Reads a file for the planner: nullopt when it does not exist.
using file_reader = std::function<std::optional<std::string>(std::filesystem::path const&)>;

/// The files that make `runtime` trust the CA (ca_pem) for each registry HOST[:PORT] under dir.
/// Throws std::runtime_error with a sentence for a registry that is not HOST[:PORT], for no registry
/// where one is needed, and for a hosts.toml regtrace did not write (it cannot be merged safely).
trust_plan plan_trust(trust_runtime runtime, std::vector<std::string> const& registries,
                      std::filesystem::path const& dir, std::string const& ca_pem, file_reader const& read);

/// The files untrust may remove: those of plan_trust's layout that exist and are regtrace's.
trust_plan plan_untrust(trust_runtime runtime, std::vector<std::string> const& registries,
                        std::filesystem::path const& dir, file_reader const& read);

/// containerd's CRI reads hosts.toml files only from config_path: "" when the config (its text, or
/// nullopt when the file is missing) names certs_dir there, else what to add and why.
std::string containerd_config_advice(std::optional<std::string> const& config_text,
                                     std::filesystem::path const& config_file,
                                     std::filesystem::path const& certs_dir);

}  // namespace regtrace::proxy
