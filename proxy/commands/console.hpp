#pragma once
// What the live console prints: one line per exchange and the closing summary (SPEC §2).
// Pure formatting, unit-tested; printing happens on the trace writer's thread.

#include "capture/text/display.hpp"
#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace regtrace::proxy {

// The size, duration and path formats are shared with the reports (capture/display.hpp).
using capture::format_bytes;
using capture::format_duration_ms;
using capture::shorten_target;

/// "[c3 r1] GET registry.test:5443 /v2/app/blobs/sha256:1a2b3c4d5e6f… 200 64.0 MiB 812 ms", with the
/// failure phase and message (and finding IDs) appended when there are any.
std::string format_exchange_line(capture::exchange const& x);

/// "[c3 r1] GET registry.test:5443 /v2/app/blobs/sha256:1a2b3c4d5e6f… 512.0 MiB of 1.0 GiB (50%),
/// 340.2 MB/s": a transfer still running (SPEC §2, transfers longer than a second). total is 0 when
/// the length is not known (chunked, close-delimited).
std::string format_progress_line(capture::exchange const& x, std::uint64_t bytes, std::uint64_t total,
                                 double seconds);

/// "  !! D-01 CRITICAL  the client sent its credentials to the storage redirect target ... → fix: ...":
/// a finding as it happens, with its catalog ID and one line of explanation (SPEC §2, §5), and how
/// many requests showed it when more than one did.
std::string format_finding_line(capture::rules::finding const& f);

/// True when standard output is a terminal and NO_COLOR (https://no-color.org) is unset or empty.
bool stdout_wants_colour();

/// One cause the console has heard of (issue 12: one cause, one finding), as it stands.
struct seen_finding {
  std::string id;
  std::string cause;
  std::string name;
  capture::rules::severity level = capture::rules::severity::error;
  std::string title;
  std::size_t count = 1;  ///< requests that showed it
};

/// Running totals for the closing summary. Updated on the trace writer's thread only.
struct console_totals {
  std::uint64_t exchanges = 0;
  std::uint64_t failed = 0;      ///< with a failure record or no response
  std::uint64_t cut_by_stop = 0;  ///< in flight when regtrace stopped: written as incomplete entries
  std::uint64_t bytes_up = 0;    ///< request bodies
  std::uint64_t bytes_down = 0;  ///< response bodies
  std::uint64_t findings[4] = {};  ///< live findings (causes) by their current severity
  std::vector<seen_finding> seen;  ///< each cause once, in the order they first showed
  void add(capture::exchange const& x);
  /// Counts f's cause (by id and cause): true the first time, when it is to be printed; later the
  /// cause's count and severity follow f, which the trace writer sends again as it shows again.
  bool add(capture::rules::finding const& f);
};
/// "12 exchanges (1 failed), 1.2 MiB sent, 64.0 MiB received; findings: 1 error, 2 warning".
std::string format_summary(console_totals const& totals);
/// One line per cause, most severe first: "  C-13 WARNING RATE_LIMITED: The registry is rate limiting
/// the client, seen 3 times". Empty without findings.
std::vector<std::string> format_seen_findings(console_totals const& totals);

/// --log-format json: the same events as JSON Lines, one object per line with an "event" member
/// ("listening", "exchange", "progress", "finding", "summary") and the time, for log collectors.
/// Field names are documented in the README.
/// upstream_proxy: the --upstream-proxy URL without credentials, or "". metrics: the /metrics URL, or "".
std::string json_listening_event(std::string const& proxy_url, std::filesystem::path const& ca_certificate,
                                 std::filesystem::path const& trace, std::filesystem::path const& replay,
                                 std::string const& upstream_proxy = {}, std::string const& metrics = {});
std::string json_exchange_event(capture::exchange const& x);
std::string json_progress_event(capture::exchange const& x, std::uint64_t bytes, std::uint64_t total,
                                double seconds);
/// {"event":"finding", "finding": the log._findings object, "count": requests that showed it so far}.
std::string json_finding_event(capture::rules::finding const& f);
std::string json_summary_event(console_totals const& totals, std::filesystem::path const& trace,
                               std::uint64_t entries_written, std::uint64_t entries_lost);

}  // namespace regtrace::proxy
