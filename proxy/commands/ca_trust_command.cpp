// `regtrace ca trust|untrust --for docker|containerd|podman|system` (issue 14), and `ca docker-trust`,
// which is `ca trust --for docker` for one registry. The plan (trust_plan.cpp) says what to write.
#include "proxy/commands/cli.hpp"
#include "proxy/commands/trust_plan.hpp"
#include "tls/authority.hpp"

#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace regtrace::proxy {
namespace {

std::optional<std::string> read_text(std::filesystem::path const& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

std::string as_root_hint(std::error_code ec) {
  return ec == std::errc::permission_denied || ec == std::errc::read_only_file_system ? ". Run it as root (sudo)."
                                                                                      : "";
}

void write_planned(planned_file const& file) {
  std::error_code ec;
  std::filesystem::create_directories(file.path.parent_path(), ec);
  if (ec) throw std::runtime_error("cannot create " + file.path.parent_path().string() + ": " + ec.message() + as_root_hint(ec));
  std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
  out.write(file.content.data(), static_cast<std::streamsize>(file.content.size()));
  out.close();
  if (!out) {
    ec = std::error_code(errno, std::generic_category());
    throw std::runtime_error("cannot write " + file.path.string() + ": " + ec.message() + as_root_hint(ec));
  }
}

// Removes a file regtrace wrote, then its folder when nothing else is left in it.
void remove_planned(planned_file const& file) {
  std::error_code ec;
  std::filesystem::remove(file.path, ec);
  if (ec) throw std::runtime_error("cannot remove " + file.path.string() + ": " + ec.message() + as_root_hint(ec));
  if (std::filesystem::is_empty(file.path.parent_path(), ec) && !ec) std::filesystem::remove(file.path.parent_path(), ec);
}

void update_system_store() {
  int const status = std::system("update-ca-certificates >/dev/null");
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("update-ca-certificates failed (is the ca-certificates package installed? run it as root)");
}

// What each runtime does with the files, said once after writing them.
std::string after_trust(trust_runtime runtime, std::filesystem::path const& dir,
                        std::filesystem::path const& containerd_config) {
  switch (runtime) {
    case trust_runtime::docker:
      return "dockerd reads it on every pull: no restart needed.";
    case trust_runtime::podman:
      return "podman, skopeo, buildah and CRI-O read it on every pull: no restart needed.";
    case trust_runtime::system:
      return "Ran update-ca-certificates: curl and other programs of the system store trust regtrace's CA.";
    case trust_runtime::containerd:
      break;
  }
  auto advice = containerd_config_advice(read_text(containerd_config), containerd_config, dir);
  return advice.empty() ? "containerd reads hosts.toml on every pull (" + containerd_config.string() +
                              " names " + dir.string() + " in config_path); ctr needs --hosts-dir " + dir.string() + "."
                        : "Warning: " + advice;
}

void print_dry_run(trust_plan const& plan, bool untrust) {
  for (auto const& file : plan.files) {
    if (untrust) {
      std::printf("Would remove %s\n", file.path.c_str());
      continue;
    }
    std::printf("Would write %s:\n", file.path.c_str());
    std::istringstream lines(file.content);
    for (std::string line; std::getline(lines, line);) std::printf("  | %s\n", line.c_str());
  }
  if (plan.update_system_store) std::printf("Would run: update-ca-certificates\n");
}

// The folder to write in, absolute: containerd's hosts.toml names the CA file by its path.
std::filesystem::path trust_dir(ca_trust_options const& o) {
  return o.dir.empty() ? default_trust_dir(o.runtime) : std::filesystem::absolute(o.dir).lexically_normal();
}

// Prints the plan's notes, then writes (trust) or removes (untrust) its files, or only says what it
// would with --dry-run. False when it only said.
bool carry_out(trust_plan const& plan, bool dry_run, bool untrust) {
  for (auto const& note : plan.notes) std::printf("Note: %s\n", note.c_str());
  if (dry_run) {
    print_dry_run(plan, untrust);
    return false;
  }
  for (auto const& file : plan.files) {
    untrust ? remove_planned(file) : write_planned(file);
    std::printf("%s %s\n", untrust ? "Removed" : "Wrote", file.path.c_str());
  }
  if (plan.update_system_store) update_system_store();
  return true;
}

}  // namespace

int run_ca_trust(ca_trust_options const& o) {
  auto const dir = trust_dir(o);
  auto const loaded = tls::authority::load(o.ca_dir);
  if (!loaded) throw std::runtime_error(loaded.error().message);
  auto const plan = plan_trust(o.runtime, o.registries, dir, loaded.value()->certificate_pem(), read_text);
  if (carry_out(plan, o.dry_run, false)) std::printf("%s\n", after_trust(o.runtime, dir, o.containerd_config).c_str());
  return 0;
}

int run_ca_untrust(ca_trust_options const& o) {
  auto const plan = plan_untrust(o.runtime, o.registries, trust_dir(o), read_text);
  if (carry_out(plan, o.dry_run, true) && plan.files.empty())
    std::printf("Nothing to remove: no file regtrace wrote for %s.\n", std::string(to_string(o.runtime)).c_str());
  return 0;
}

}  // namespace regtrace::proxy
