#pragma once
// The command line (SPEC §2): argv → configuration → the command. Errors become sentences and a
// non-zero exit code here; no exception text or stack trace reaches the user.

#include "proxy/commands/trust_plan.hpp"
#include "proxy/config/config.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace regtrace::proxy {

/// Runs regtrace with argv; returns the process exit code.
int run_command_line(int argc, char** argv);

/// $XDG_DATA_HOME/regtrace, else ~/.local/share/regtrace.
std::filesystem::path default_ca_dir();

/// "regtrace-20261127-215637.har" in dir (the current folder when empty).
std::filesystem::path default_har_path(std::filesystem::path const& dir);

/// "64k", "1m", "65536" → bytes. Throws std::invalid_argument with a sentence.
std::size_t parse_byte_size(std::string const& text);

/// Runs the proxy until SIGINT/SIGTERM; prints the banner, exchange lines and the summary.
/// setup: --setup's value, checked by check_setup_choice.
int run_proxy_command(proxy_config config, int verbosity, std::string const& setup = "auto");

/// `regtrace report` options, as given on the command line (validated by run_report_command).
struct report_options {
  /// The HARs to read, and folders whose *.har files to read. One file: that trace's report; more,
  /// or a folder: one fleet report over them all (issue 15).
  std::vector<std::filesystem::path> traces;
  std::string format = "text";   ///< text, markdown, json, html
  std::filesystem::path output;  ///< "" or "-": standard output
  std::string fail_on;           ///< "", "error" or "critical"
};

/// Reads the HARs, diagnoses them and prints the report; returns 0, 2 (--fail-on reached by a finding
/// of any trace) or 1 (no trace could be read, or the report could not be written).
int run_report_command(report_options const& options);

/// `regtrace ca ...` actions.
int run_ca_init(std::filesystem::path const& ca_dir);
int run_ca_show(std::filesystem::path const& ca_dir);
int run_ca_path(std::filesystem::path const& ca_dir);
int run_ca_export(std::filesystem::path const& ca_dir, bool der, std::filesystem::path const& output);
/// `regtrace ca trust|untrust --for RUNTIME HOST[:PORT]...` (trust_plan.hpp has the layouts).
struct ca_trust_options {
  std::filesystem::path ca_dir;
  trust_runtime runtime = trust_runtime::docker;
  std::vector<std::string> registries;
  std::filesystem::path dir;                ///< "" = the runtime's own folder
  std::filesystem::path containerd_config;  ///< checked for config_path (--for containerd)
  bool dry_run = false;
};
int run_ca_trust(ca_trust_options const& options);
int run_ca_untrust(ca_trust_options const& options);
int run_ca_docker_trust(std::filesystem::path const& ca_dir, std::string const& registry,
                        std::filesystem::path const& certs_dir, bool dry_run);

}  // namespace regtrace::proxy
