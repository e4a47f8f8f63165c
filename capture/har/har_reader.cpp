// Reading a whole HAR: the normal path parses the document; a file cut short (kill -9 mid-write, a
// partial copy) falls back to a scan that finds the entries array and keeps every complete entry.

#include "capture/har/har_reader.hpp"

#include "capture/har/har_entry_reader.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

namespace regtrace::capture {
namespace {

using nlohmann::json;

/// Where and why nlohmann refused the text; only called once the non-throwing parse has failed.
struct parse_problem {
  std::size_t byte = 0;
  std::string reason;
};

parse_problem locate_parse_error(std::string_view text) {
  try {
    auto const doc = json::parse(text.begin(), text.end());
    (void)doc;
  } catch (json::parse_error const& e) {
    std::string reason = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..." → "syntax error
    // ..."
    if (auto const colon = reason.find(": "); colon != std::string::npos) reason.erase(0, colon + 2);
    // nlohmann quotes the token it last read, which can be a whole string; a sentence needs little of it.
    if (reason.size() > 160) reason = reason.substr(0, 157) + "...";
    return {e.byte, reason};
  } catch (std::exception const& e) {
    return {0, e.what()};
  }
  return {0, "unknown parse error"};
}

/// Adds a read entry; index is its 1-based position in log.entries.
void keep(std::optional<exchange> x, std::size_t index, har_read_result& result) {
  if (!x) return;
  result.exchanges.push_back(std::move(*x));
  result.entry_indexes.push_back(index - 1);
}

/// "byte 1234 (line 5, column 7)" for nlohmann's 1-based byte position of the offending character.
std::string position_phrase(std::string_view text, std::size_t byte) {
  std::size_t const offset = std::min(byte > 0 ? byte - 1 : 0, text.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "byte " + std::to_string(byte) + " (line " + std::to_string(line) + ", column " +
         std::to_string(offset - line_start + 1) + ")";
}

/// What a text that is not JSON looks like, so the sentence says what the user opened by mistake.
std::string looks_like(std::string_view text) {
  auto const first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "; the file is empty";
  auto const byte = [&](std::size_t i) { return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u; };
  if (byte(0) == 0x1f && byte(1) == 0x8b) return "; it is gzip-compressed: gunzip it first";
  // RFC 1950 header: CMF 0x78 and (CMF*256 + FLG) divisible by 31. mitmproxy's har_dump writes .zhar so.
  if (byte(0) == 0x78 && (byte(0) * 256 + byte(1)) % 31 == 0)
    return "; it looks zlib-compressed (a mitmproxy .zhar): decompress it first, for example with "
           "python3 -c \"import sys,zlib; "
           "sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read()))\"";
  if (text[first] == '<') return "; it looks like HTML or XML, not a HAR (JSON)";
  for (std::size_t i = 0; i < std::min<std::size_t>(text.size(), 1024); ++i) {
    auto const c = byte(i);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
      return "; it looks like binary data, not a HAR (JSON)";
  }
  return "";
}

void read_entries(json const& entries, har_read_result& result) {
  std::size_t index = 0;
  for (auto const& entry : entries) {
    ++index;
    keep(detail::exchange_from_har_entry(entry, index, result.warnings), index, result);
  }
}

void read_document(json const& doc, har_read_result& result) {
  auto const log = doc.is_object() ? doc.find("log") : doc.end();
  if (!doc.is_object() || log == doc.end() || !log->is_object()) {
    result.ok = false;
    result.error = "not a HAR: the JSON has no \"log\" object";
    return;
  }
  auto const entries = log->find("entries");
  if (entries == log->end() || !entries->is_array()) {
    result.ok = false;
    result.error = "not a HAR: log.entries is missing or is not an array";
    return;
  }
  if (auto const creator = log->find("creator"); creator != log->end() && creator->is_object()) {
    result.creator = creator->value("name", std::string());
  }
  read_entries(*entries, result);
}

/// Byte ranges of the complete objects in log.entries, found without parsing the whole text.
struct entries_scan {
  bool found = false;                                        ///< saw `"log":{ ... "entries":[`
  bool closed = false;                                       ///< saw the `]` that ends the entries array
  std::size_t open = 0;                                      ///< offset of the entries array's `[`
  std::vector<std::pair<std::size_t, std::size_t>> objects;  ///< [begin, end) of each complete entry
};

entries_scan scan_entries(std::string_view text) {
  entries_scan scan;
  // Depth 1 is the root object, 2 the log object, 3 the entries array, 4 inside an entry.
  std::array<std::string_view, 4> key_at{};
  std::string_view last_string;
  std::size_t depth = 0;
  std::size_t string_start = 0;
  std::size_t entry_start = 0;
  bool in_string = false;
  bool escape = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char const c = text[i];
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
        last_string = text.substr(string_start, i - string_start);
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        string_start = i + 1;
        break;
      case ':':
        if (depth < key_at.size()) key_at[depth] = last_string;
        break;
      case '{':
      case '[':
        if (c == '[' && depth == 2 && !scan.found && key_at[1] == "log" && key_at[2] == "entries") {
          scan.found = true;
          scan.open = i;
        }
        if (scan.found && !scan.closed && depth == 3 && c == '{') entry_start = i;
        ++depth;
        if (depth < key_at.size()) key_at[depth] = {};
        break;
      case '}':
      case ']':
        if (depth == 0) return scan;  // unbalanced: nothing more can be trusted
        --depth;
        if (scan.found && !scan.closed && depth == 3 && c == '}')
          scan.objects.emplace_back(entry_start, i + 1);
        if (scan.found && !scan.closed && depth == 2 && c == ']') {
          scan.closed = true;
          return scan;
        }
        break;
      default:
        break;
    }
  }
  return scan;
}

std::string entries_phrase(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " complete entry" : " complete entries");
}

void recover(std::string_view text, parse_problem const& problem, har_read_result& result) {
  auto const scan = scan_entries(text);
  if (!scan.found) {
    result.ok = false;
    result.error = "not a HAR: the text is not valid JSON (" + problem.reason + ") at " +
                   position_phrase(text, problem.byte) + looks_like(text);
    return;
  }
  // The log members before the entries, closed by hand, still give the creator.
  std::string head(text.substr(0, scan.open + 1));
  head += "]}}";
  if (auto const doc = json::parse(head, nullptr, false); !doc.is_discarded()) {
    auto const log = doc.find("log");
    if (log != doc.end() && log->contains("creator") && (*log)["creator"].is_object()) {
      result.creator = (*log)["creator"].value("name", std::string());
    }
  }
  std::size_t index = 0;
  for (auto const& [begin, end] : scan.objects) {
    ++index;
    auto const entry = json::parse(text.substr(begin, end - begin), nullptr, false);
    if (entry.is_discarded()) {
      result.warnings.push_back("entry " + std::to_string(index) + " (bytes " + std::to_string(begin) + "-" +
                                std::to_string(end) + ") is not valid JSON; skipped it");
      continue;
    }
    keep(detail::exchange_from_har_entry(entry, index, result.warnings), index, result);
  }
  // nlohmann counts the end of input as one more byte read, so running out reports size + 1.
  bool const ran_out = problem.byte > text.size();
  result.truncated = !scan.closed || ran_out;
  if (result.truncated) {
    result.warnings.push_back("the file ends at byte " + std::to_string(text.size()) + " (line " +
                              std::to_string(std::count(text.begin(), text.end(), '\n') + 1) +
                              ") before the HAR is complete (as after a crash); kept " +
                              entries_phrase(scan.objects.size()) + " before the cut");
  } else {
    result.warnings.push_back("the file is not valid JSON after the entries (" + problem.reason + ") at " +
                              position_phrase(text, problem.byte) + "; kept " +
                              entries_phrase(scan.objects.size()));
  }
}

}  // namespace

har_read_result read_har_text(std::string_view text) {
  har_read_result result;
  try {
    auto const doc = json::parse(text.begin(), text.end(), nullptr, false);
    if (!doc.is_discarded()) {
      read_document(doc, result);
    } else {
      recover(text, locate_parse_error(text), result);
    }
  } catch (std::exception const& e) {
    // Only allocation can get here; the caller was promised no exceptions.
    result.ok = false;
    result.error = std::string("cannot read the HAR: ") + e.what();
  }
  return result;
}

har_read_result read_har_file(std::filesystem::path const& path) {
  har_read_result result;
  struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    result.ok = false;
    result.error = "cannot read " + path.string() + ": " + std::strerror(errno);
    return result;
  }
  std::string text;
  try {
    char buffer[64 * 1024];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, n);
  } catch (std::exception const& e) {
    result.ok = false;
    result.error = "cannot read " + path.string() + ": " + e.what();
    return result;
  }
  if (std::ferror(file.get())) {
    result.ok = false;
    result.error = "cannot read " + path.string() + ": " + std::strerror(errno);
    return result;
  }
  return read_har_text(text);
}

}  // namespace regtrace::capture
