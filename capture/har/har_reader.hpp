#pragma once
// Reads HAR files back into exchanges: regtrace's own (with `_regtrace` fields) and, tolerantly,
// those of browsers, Fiddler and mitmproxy (SPEC §1, §5: old traces benefit from new rules).
// The file is streamed (SPEC §8, issue 13): read in fixed chunks, one entry parsed at a time, so
// memory is bounded by the largest entry, not by the file.

#include "capture/model/exchange.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture {

struct har_read_result {
  std::vector<exchange> exchanges;  ///< every complete entry, in file order (empty from for_each_har_entry)
  std::vector<std::size_t>
      entry_indexes;                  ///< 0-based log.entries position of each exchange (some are skipped)
  std::vector<std::string> warnings;  ///< sentences, e.g. "entry 7 has no response; kept the request"
  std::string creator;                ///< log.creator.name
  /// log.creator._node: the machine regtrace recorded on (its host name); "" when absent or unusable
  std::string node;
  bool truncated = false;             ///< the file ended mid-way (crash); complete entries still returned
  bool ok = true;                     ///< false when nothing usable was found; error says why
  std::string error;  ///< sentence naming the position: "not a HAR: ... at byte 1234 (line 5, column 7)"
};

/// What a trace file may make the reader hold (SPEC §8: a trace file is hostile input). An entry
/// past a limit is skipped with a warning naming it; the rest of the file is still read.
struct har_read_limits {
  std::size_t chunk_bytes = 64 * 1024;  ///< the reader's one buffer
  /// An entry's JSON text. regtrace keeps at most --body-limit of text per body; browsers store
  /// whole responses (base64), and 64 MiB of JSON already parses into some 200 MiB.
  std::size_t max_entry_bytes = 64 * 1024 * 1024;
  /// Nesting inside one entry, and of the document around the entries. A HAR entry nests about 5
  /// levels; the limit is checked before nlohmann parses anything.
  std::size_t max_depth = 64;
};

/// One entry as the streaming reader hands it over.
struct har_entry {
  exchange x;
  std::size_t index = 0;     ///< 0-based position in log.entries
  std::uint64_t offset = 0;  ///< where the entry's JSON starts in the file
  std::uint64_t size = 0;    ///< its length in bytes: read_har_entry reads it again from there
};

using har_entry_visitor = std::function<void(har_entry&&)>;

/// Parses HAR text. Never throws.
har_read_result read_har_text(std::string_view text);
har_read_result read_har_text(std::string_view text, har_read_limits const& limits);
/// Reads and parses a file. Never throws; a missing file is an error sentence naming it.
har_read_result read_har_file(std::filesystem::path const& path);
har_read_result read_har_file(std::filesystem::path const& path, har_read_limits const& limits);

/// Streams a HAR file: visit is called with each entry that reads as an exchange, in file order,
/// and the entry is dropped after it. The result says everything else (exchanges stays empty).
/// Never throws itself; what visit throws ends the read as an error sentence.
har_read_result for_each_har_entry(std::filesystem::path const& path, har_entry_visitor const& visit,
                                   har_read_limits const& limits = {});
/// for_each_har_entry over text in memory (offsets are into text).
har_read_result for_each_har_entry_in_text(std::string_view text, har_entry_visitor const& visit,
                                           har_read_limits const& limits = {});

/// One entry's JSON text (as for_each_har_entry found it at offset) back to an exchange: the same
/// checks, repairs and warnings. index is 0-based. Never throws.
std::optional<exchange> read_har_entry(std::string bytes, std::size_t index, std::uint64_t offset,
                                       std::vector<std::string>& warnings);

}  // namespace regtrace::capture
