#pragma once
// Internal to the HAR reader: a streaming JSON scanner that finds the byte range of each
// log.entries element without building a document (issue 13: a 209 MB HAR must not take its size
// several times over in memory). It validates the JSON around the entries itself, with a bounded
// nesting depth, and hands each entry's bytes over whole for nlohmann to parse one at a time.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regtrace::capture::detail {

/// Bounds on what one entry may take (SPEC §8: a trace file is hostile input).
struct scan_limits {
  std::size_t max_depth = 64;  ///< nesting inside an entry, and of the document around them
  std::size_t max_entry_bytes = 64 * 1024 * 1024;  ///< larger entries are counted, not kept
  std::size_t max_creator_bytes = 64 * 1024;       ///< log.creator is a name and a version
};

/// One element of log.entries, complete.
struct scanned_entry {
  enum class problem : std::uint8_t { none, not_object, too_big, too_deep };
  std::size_t index = 0;    ///< 0-based position in log.entries
  std::uint64_t begin = 0;  ///< offset of its first byte in the input
  std::uint64_t end = 0;    ///< offset just after its last byte
  std::uint64_t line = 1;   ///< line of its first byte
  std::string bytes;        ///< its JSON text; empty when problem is not none
  problem trouble = problem::none;
  std::uint64_t trouble_at = 0;  ///< too_deep: offset of the bracket that went past the limit
};

/// Where and why the scan stopped before the end of the document.
struct scan_error {
  std::uint64_t offset = 0;  ///< 0-based offset of the offending byte (the input size at its end)
  std::uint64_t line = 1;
  std::uint64_t column = 1;
  std::string reason;     ///< "unexpected 'o'; expected a value"
  bool too_deep = false;  ///< the document nests deeper than max_depth outside the entries (reason says so)
};

/// Feed it the input in pieces of any size. Not thread-safe; one per read.
class har_scanner {
 public:
  explicit har_scanner(scan_limits limits) : limits_(limits) {}

  /// Scans the next bytes; false once an error stopped the scan (further input is ignored).
  bool feed(std::string_view bytes);
  /// The input has ended: completes a number at the very end, decides whether the document was whole.
  void finish();

  /// The entries completed since the last call, in order.
  std::vector<scanned_entry> take_entries() { return std::exchange(done_, {}); }

  bool entries_found() const { return entries_found_; }     ///< saw `"log":{ ... "entries":[`
  bool log_found() const { return log_object_; }            ///< saw `{"log":{`
  bool complete() const { return complete_; }               ///< the document ended, whole
  std::size_t entries_seen() const { return next_index_; }  ///< complete elements of log.entries
  scan_error const* error() const { return error_.reason.empty() ? nullptr : &error_; }
  std::string const& creator_json() const { return creator_; }  ///< log.creator's text, "" if too big
  bool creator_too_big() const { return creator_too_big_; }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t line() const { return line_; }
  std::uint64_t column() const { return offset_ - line_start_ + 1; }

 private:
  enum class expect : std::uint8_t { value, value_or_close, key_or_close, key, colon, comma_or_close, end };
  enum class token : std::uint8_t { none, string, literal, number };
  enum class capture : std::uint8_t { none, entry, creator };

  std::size_t scan_capture(std::string_view bytes, std::size_t i);
  bool step(char c);
  bool step_string(char c);
  bool step_scalar(char c, bool& consumed);
  bool step_structure(char c);
  bool begin_value(char c);
  void begin_capture(capture what, char open);
  void end_capture();
  void close_container();
  void value_done();
  bool fail(std::string reason, bool too_deep = false);
  void note_newline(std::uint64_t at) {
    ++line_;
    line_start_ = at + 1;
  }

  scan_limits limits_;
  std::uint64_t offset_ = 0;  ///< offset of the next byte to read
  std::uint64_t line_ = 1;
  std::uint64_t line_start_ = 0;
  std::size_t bom_matched_ = 0;  ///< bytes of a UTF-8 byte order mark read at the start
  scan_error error_;
  bool complete_ = false;

  std::string stack_;  ///< the open containers around the scanner, '{' or '[', outermost first
  expect expect_ = expect::value;
  token token_ = token::none;
  bool key_string_ = false;   ///< the string being read is a member name
  std::uint8_t escape_ = 0;   ///< 0, 1 after a backslash, 2..5 reading the hex digits of \u
  std::string_view literal_;  ///< "true", "false" or "null" while reading one
  std::size_t literal_at_ = 0;
  std::uint8_t number_ = 0;  ///< state of the number grammar (see step_scalar)
  std::string key_;          ///< first bytes of the member name being read (enough to compare)
  std::string root_key_;     ///< last member name read in the root object
  std::string log_key_;      ///< last member name read in the log object

  bool log_seen_ = false;  ///< the root's "log" member was met (its value may be no object)
  bool log_object_ = false;
  bool log_open_ = false;  ///< stack_[1] is the log object
  bool entries_found_ = false;
  bool entries_open_ = false;  ///< stack_[2] is log.entries
  std::size_t next_index_ = 0;

  capture capture_ = capture::none;
  std::uint64_t cap_depth_ = 0;
  bool cap_in_string_ = false;
  bool cap_escape_ = false;
  scanned_entry cap_;
  std::string creator_;
  bool creator_too_big_ = false;
  std::vector<scanned_entry> done_;
};

}  // namespace regtrace::capture::detail
