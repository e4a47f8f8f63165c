#pragma once
// Human formats of sizes, durations and request paths, shared by the live console and the reports.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture {

/// "64.0 MiB", "512 B".
std::string format_bytes(std::uint64_t bytes);
/// "812 ms", "3.4 s".
std::string format_duration_ms(double ms);
/// A path (and query) shortened for one console line: digests cut to 12 hex digits, long paths
/// elided in the middle, query values dropped.
std::string shorten_target(std::string_view target, std::size_t max_width = 64);
/// Text from a trace or a peer, made safe for a terminal: escape sequences could drive it, so control
/// bytes (C0, DEL, and C1 written as UTF-8) become "?"; tabs become a space, and newlines too unless
/// keep_newlines (a block of several lines), where a CR still becomes "?".
std::string printable(std::string_view text, bool keep_newlines = false);
/// items joined by separator: "a, b, c".
std::string join(std::vector<std::string> const& items, std::string_view separator = ", ");

}  // namespace regtrace::capture
