// Reading a HAR as a stream: the file is read in fixed chunks through har_scanner, which finds each
// log.entries element (and log.creator) and checks the JSON around them; each entry alone is parsed
// by nlohmann, mapped to an exchange, handed over and dropped. A file cut short (kill -9 mid-write, a
// partial copy) keeps every entry completed before the cut.

#include "capture/har/har_reader.hpp"

#include "capture/har/har_entry_reader.hpp"
#include "capture/har/har_scanner.hpp"
#include "capture/text/display.hpp"
#include "capture/text/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace regtrace::capture {
namespace {

using detail::scanned_entry;
using nlohmann::json;

/// "byte 1234 (line 5, column 7)"; offset is 0-based, the phrase 1-based as editors count.
std::string position_phrase(std::uint64_t offset, std::uint64_t line, std::uint64_t column) {
  return "byte " + std::to_string(offset + 1) + " (line " + std::to_string(line) + ", column " +
         std::to_string(column) + ")";
}

/// What a text that is not JSON looks like, from its first bytes, so the sentence says what the user
/// opened by mistake.
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
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto const c = byte(i);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
      return "; it looks like binary data, not a HAR (JSON)";
  }
  return "";
}

std::string entries_phrase(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " complete entry" : " complete entries");
}

/// nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
/// without its prefix, and short: nlohmann quotes the token it last read, which can be a whole string.
std::string short_reason(std::string reason) {
  if (auto const colon = reason.find(": "); colon != std::string::npos) reason.erase(0, colon + 2);
  if (reason.size() > 160) reason = reason.substr(0, 157) + "...";
  return reason;
}

/// Parses one entry's bytes (within the limits already) and maps it. index is 0-based.
std::optional<exchange> exchange_from_bytes(std::string& bytes, std::size_t index, std::uint64_t offset,
                                            std::vector<std::string>& warnings) {
  auto const where = "entry " + std::to_string(index + 1);
  // One bad byte in a header must not cost the entry: nlohmann refuses ill-formed UTF-8 outright.
  if (auto const bad = first_invalid_utf8(bytes); bad != std::string::npos) {
    warnings.push_back(where + " holds bytes that are not UTF-8 (the first at byte " +
                       std::to_string(offset + bad + 1) + "); read each as U+FFFD");
    bytes = replace_invalid_utf8(bytes);
  }
  json entry;
  try {
    entry = json::parse(bytes);
  } catch (json::parse_error const& e) {
    warnings.push_back(where + " (from byte " + std::to_string(offset + 1) + ") is not valid JSON (" +
                       short_reason(e.what()) + ") at byte " + std::to_string(offset + e.byte) +
                       "; skipped it");
    return std::nullopt;
  } catch (json::exception const& e) {
    warnings.push_back(where + " (from byte " + std::to_string(offset + 1) + ") cannot be read (" +
                       short_reason(e.what()) + "); skipped it");
    return std::nullopt;
  }
  std::string().swap(bytes);  // the entry's text and its document need not live together any longer
  return detail::exchange_from_har_entry(entry, index + 1, warnings);
}

/// One read: feeds the scanner, turns what it finds into exchanges for the visitor, and at the end
/// into the result's sentences.
class reader {
 public:
  reader(har_entry_visitor const& visit, har_read_limits const& limits)
      : visit_(visit),
        limits_(limits),
        scanner_({.max_depth = std::max<std::size_t>(limits.max_depth, 3),
                  .max_entry_bytes = limits.max_entry_bytes,
                  .max_creator_bytes = 64 * 1024}) {}

  /// false once nothing more needs reading (the scanner stopped at an error).
  bool feed(std::string_view chunk) {
    if (head_.size() < 1024) head_.append(chunk.substr(0, 1024 - head_.size()));
    bool const more = scanner_.feed(chunk);
    for (auto& entry : scanner_.take_entries()) deliver(entry);
    return more;
  }

  har_read_result finish();
  har_read_result fail(std::string error) {
    result_.ok = false;
    result_.error = std::move(error);
    return std::move(result_);
  }

 private:
  void deliver(scanned_entry& e);
  void read_creator();

  har_entry_visitor const& visit_;
  har_read_limits limits_;
  detail::har_scanner scanner_;
  std::string head_;  ///< the first KiB, to say what a file that is not a HAR looks like
  har_read_result result_;
};

void reader::deliver(scanned_entry& e) {
  auto& warnings = result_.warnings;
  auto const where = "entry " + std::to_string(e.index + 1);
  switch (e.trouble) {
    case scanned_entry::problem::not_object:
      warnings.push_back(where + " has no request; skipped it");
      return;
    case scanned_entry::problem::too_big:
      warnings.push_back(where + " (bytes " + std::to_string(e.begin + 1) + "-" + std::to_string(e.end) +
                         ") takes " + format_bytes(e.end - e.begin) + ", more than the " +
                         format_bytes(limits_.max_entry_bytes) + " an entry may; skipped it");
      return;
    case scanned_entry::problem::too_deep:
      warnings.push_back(where + " (from byte " + std::to_string(e.begin + 1) + ") nests deeper than " +
                         std::to_string(limits_.max_depth) + " levels at byte " +
                         std::to_string(e.trouble_at + 1) + "; skipped it");
      return;
    case scanned_entry::problem::none:
      break;
  }
  auto x = exchange_from_bytes(e.bytes, e.index, e.begin, warnings);
  if (x) visit_(har_entry{.x = std::move(*x), .index = e.index, .offset = e.begin, .size = e.end - e.begin});
}

void reader::read_creator() {
  if (scanner_.creator_too_big()) {
    result_.warnings.push_back("log.creator is larger than 64 KiB or nests too deep; ignored it");
    return;
  }
  auto const creator = json::parse(scanner_.creator_json(), nullptr, false);
  if (!creator.is_object()) return;  // absent, or not valid JSON: the name stays unknown
  if (auto const name = creator.find("name"); name != creator.end() && name->is_string())
    result_.creator = name->get<std::string>();
  // A host name is at most 255 bytes; anything longer is not one, and the file name names the node.
  if (auto const node = creator.find("_node"); node != creator.end() && node->is_string())
    if (auto const& text = node->get_ref<std::string const&>(); !text.empty() && text.size() <= 255)
      result_.node = text;
}

har_read_result reader::finish() {
  scanner_.finish();
  for (auto& entry : scanner_.take_entries()) deliver(entry);
  read_creator();
  auto const kept = entries_phrase(scanner_.entries_seen());
  if (auto const* e = scanner_.error()) {
    auto const where = position_phrase(e->offset, e->line, e->column);
    if (!scanner_.entries_found())
      return fail(e->too_deep ? "not a HAR: " + e->reason + " at " + where + ", which no HAR does"
                              : "not a HAR: the text is not valid JSON (" + e->reason + ") at " + where +
                                    looks_like(head_));
    result_.warnings.push_back(
        (e->too_deep ? "the file " + e->reason.substr(3) : "the file is not valid JSON (" + e->reason + ")") +
        " at " + where + "; kept " + kept + " before that point");
    return std::move(result_);
  }
  if (!scanner_.complete()) {
    if (!scanner_.entries_found())
      return fail("not a HAR: the text is not valid JSON (unexpected end of input) at " +
                  position_phrase(scanner_.offset(), scanner_.line(), scanner_.column()) + looks_like(head_));
    result_.truncated = true;
    result_.warnings.push_back("the file ends at byte " + std::to_string(scanner_.offset()) + " (line " +
                               std::to_string(scanner_.line()) +
                               ") before the HAR is complete (as after a crash); kept " + kept +
                               " before the cut");
    return std::move(result_);
  }
  if (!scanner_.log_found()) return fail("not a HAR: the JSON has no \"log\" object");
  if (!scanner_.entries_found()) return fail("not a HAR: log.entries is missing or is not an array");
  return std::move(result_);
}

/// Runs a read, turning what escapes it (allocation failure, the visitor's own exceptions) into an
/// error sentence: callers were promised no exceptions.
template <typename Read>
har_read_result guarded(Read&& read) {
  try {
    return read();
  } catch (std::exception const& e) {
    har_read_result result;
    result.ok = false;
    result.error = std::string("cannot read the HAR: ") + e.what();
    return result;
  }
}

har_entry_visitor collect_into(har_read_result& all) {
  return [&all](har_entry&& entry) {
    all.exchanges.push_back(std::move(entry.x));
    all.entry_indexes.push_back(entry.index);
  };
}

har_read_result with_exchanges(har_read_result summary, har_read_result& all) {
  summary.exchanges = std::move(all.exchanges);
  summary.entry_indexes = std::move(all.entry_indexes);
  return summary;
}

}  // namespace

har_read_result for_each_har_entry_in_text(std::string_view text, har_entry_visitor const& visit,
                                           har_read_limits const& limits) {
  return guarded([&] {
    reader r(visit, limits);
    auto const chunk = std::max<std::size_t>(limits.chunk_bytes, 1);
    for (std::size_t at = 0; at < text.size(); at += chunk)
      if (!r.feed(text.substr(at, chunk))) break;
    return r.finish();
  });
}

har_read_result for_each_har_entry(std::filesystem::path const& path, har_entry_visitor const& visit,
                                   har_read_limits const& limits) {
  return guarded([&] {
    reader r(visit, limits);
    struct file_closer {
      void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
    if (!file) return r.fail("cannot read " + path.string() + ": " + std::strerror(errno));
    std::string buffer(std::max<std::size_t>(limits.chunk_bytes, 1), '\0');
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0)
      if (!r.feed(std::string_view(buffer.data(), n))) break;
    if (std::ferror(file.get())) return r.fail("cannot read " + path.string() + ": " + std::strerror(errno));
    return r.finish();
  });
}

har_read_result read_har_text(std::string_view text) {
  return read_har_text(text, {});
}

har_read_result read_har_text(std::string_view text, har_read_limits const& limits) {
  har_read_result all;
  return with_exchanges(for_each_har_entry_in_text(text, collect_into(all), limits), all);
}

har_read_result read_har_file(std::filesystem::path const& path) {
  return read_har_file(path, {});
}

har_read_result read_har_file(std::filesystem::path const& path, har_read_limits const& limits) {
  har_read_result all;
  return with_exchanges(for_each_har_entry(path, collect_into(all), limits), all);
}

std::optional<exchange> read_har_entry(std::string bytes, std::size_t index, std::uint64_t offset,
                                       std::vector<std::string>& warnings) {
  try {
    return exchange_from_bytes(bytes, index, offset, warnings);
  } catch (std::exception const& e) {
    warnings.push_back("entry " + std::to_string(index + 1) + " cannot be read: " + e.what());
    return std::nullopt;
  }
}

}  // namespace regtrace::capture
