#pragma once
// The command line (SPEC §2): argv → configuration → the command. Errors become sentences and a
// non-zero exit code here; no exception text or stack trace reaches the user.

#include "proxy/config/config.hpp"

#include <filesystem>
#include <string>

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
int run_proxy_command(proxy_config config, int verbosity);

/// `regtrace report` options, as given on the command line (validated by run_report_command).
struct report_options {
  std::filesystem::path trace;   ///< the HAR to read
  std::string format = "text";   ///< text, markdown, json, html
  std::filesystem::path output;  ///< "" or "-": standard output
  std::string fail_on;           ///< "", "error" or "critical"
};

/// Reads a HAR, diagnoses it and prints the report; returns 0, 2 (--fail-on reached) or 1 (unreadable).
int run_report_command(report_options const& options);

/// `regtrace ca ...` actions.
int run_ca_init(std::filesystem::path const& ca_dir);
int run_ca_show(std::filesystem::path const& ca_dir);
int run_ca_path(std::filesystem::path const& ca_dir);
int run_ca_export(std::filesystem::path const& ca_dir, bool der, std::filesystem::path const& output);
int run_ca_docker_trust(std::filesystem::path const& ca_dir, std::string const& registry,
                        std::filesystem::path const& certs_dir, bool dry_run);

}  // namespace regtrace::proxy
