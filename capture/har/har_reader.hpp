#pragma once
// Reads HAR files back into exchanges: regtrace's own (with `_regtrace` fields) and, tolerantly,
// those of browsers, Fiddler and mitmproxy (SPEC §1, §5: old traces benefit from new rules).

#include "capture/model/exchange.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture {

struct har_read_result {
  std::vector<exchange> exchanges;    ///< every complete entry, in file order
  std::vector<std::size_t> entry_indexes;  ///< 0-based log.entries position of each exchange (some are skipped)
  std::vector<std::string> warnings;  ///< sentences, e.g. "entry 7 has no response; kept the request"
  std::string creator;                ///< log.creator.name
  bool truncated = false;             ///< the file ended mid-way (crash); complete entries still returned
  bool ok = true;                     ///< false when nothing usable was found; error says why
  std::string error;  ///< sentence naming the position: "not a HAR: ... at byte 1234 (line 5, column 7)"
};

/// Parses HAR text. Never throws.
har_read_result read_har_text(std::string_view text);
/// Reads and parses a file. Never throws; a missing file is an error sentence naming it.
har_read_result read_har_file(std::filesystem::path const& path);

}  // namespace regtrace::capture
