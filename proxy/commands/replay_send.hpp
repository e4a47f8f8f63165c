#pragma once
// Client replay, `regtrace replay send` (SPEC §6, issue 4): re-issue a trace's registry reads against
// the live registry, with a fresh token exchange, and say per request what changed.

#include "proxy/upstream/registry_client.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace regtrace::proxy {

struct replay_send_options {
  std::filesystem::path trace;
  std::vector<std::string> only;  ///< globs on the URL or path; empty: every request
  registry_client_options client;  ///< credentials, --resolve, CAs, --upstream-proxy
  std::filesystem::path output_har;  ///< the new exchanges, redacted; empty: not written
  bool json = false;                 ///< print JSON instead of text
};

/// Runs the replay and prints the comparison. Returns 0 when nothing changed, 2 when something did;
/// throws std::runtime_error with a sentence when the trace cannot be read.
int run_replay_send(replay_send_options const& options);

}  // namespace regtrace::proxy
