#pragma once
// HAR 1.2 output (SPEC §4): one JSON entry per exchange, and a file that is a complete, readable HAR
// after every appended entry, so a kill -9 loses only what was in flight.

#include "capture/model/exchange.hpp"

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace regtrace::capture {

/// "2026-11-27T21:56:37.123Z" (HAR 1.2 startedDateTime: ISO 8601 UTC with milliseconds).
std::string iso8601_utc(std::chrono::system_clock::time_point t);

/// The HAR entry for one exchange, with regtrace's `_regtrace` object (connection id, request index,
/// TLS facts of both legs, body byte counts and SHA-256, registry classification, failure, findings).
nlohmann::json to_har_entry(exchange const& x);

/// An open HAR file. Each append rewrites only the closing tail, in place.
/// Not thread-safe: one writer thread owns it (STYLE rule 8).
class har_file {
 public:
  /// Creates (truncates) path and writes an empty, valid HAR. Throws std::runtime_error with a
  /// sentence naming the file when it cannot be created (start-up only). node: the machine's name,
  /// written as log.creator._node (the fleet report's node); "" writes none.
  explicit har_file(std::filesystem::path path, std::string const& node = {});
  ~har_file();
  har_file(har_file const&) = delete;
  har_file& operator=(har_file const&) = delete;

  /// Appends one entry and rewrites the tail. Returns false (and sets last_error) on an I/O error.
  bool append(nlohmann::json const& entry);
  /// Replaces the log-level extras written in the tail (`_findings`, `_regtrace` counters) and rewrites
  /// the tail. extras must be an object; its members are written after "entries".
  bool set_log_extras(nlohmann::json const& extras);

  std::filesystem::path const& path() const { return path_; }
  std::uint64_t entries() const { return entries_; }
  std::string const& last_error() const { return last_error_; }

 private:
  bool write_tail();
  /// Writes text from the end of the last entry on and cuts the file after it, then flushes; false
  /// (and last_error) on an I/O error.
  bool write_at_entries_end(std::string const& text);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  long entries_end_ = 0;  ///< file offset just after the last entry: where the tail starts
  std::uint64_t entries_ = 0;
  std::string extras_;  ///< serialised extras members, "" or ",\"_findings\":[...]"
  std::string last_error_;
};

}  // namespace regtrace::capture
