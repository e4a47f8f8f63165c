// har_file: the crash-safe HAR layout (SPEC §4). The file is always
//   {"log":{"version":"1.2","creator":{...},"entries":[<entry>,<entry>...\n]<extras>}}\n
// and each append overwrites only the closing tail, so a copy taken between appends parses.

#include "capture/har/har_writer.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace regtrace::capture {
namespace {

std::string head_text(std::string const& node) {
  nlohmann::json creator{{"name", "regtrace"}, {"version", REGTRACE_VERSION}};
  if (!node.empty()) creator["_node"] = node;
  return R"({"log":{"version":"1.2","creator":)" + creator.dump() + R"(,"entries":[)";
}

}  // namespace

har_file::har_file(std::filesystem::path path, std::string const& node) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "w+b");
  if (!file_) {
    throw std::runtime_error("cannot create trace file " + path_.string() + ": " + std::strerror(errno) +
                             ". Choose another path with --har or --out.");
  }
  auto const head = head_text(node);
  entries_end_ = static_cast<long>(head.size());
  if (std::fwrite(head.data(), 1, head.size(), file_) != head.size() || !write_tail()) {
    std::string const reason = last_error_.empty() ? std::strerror(errno) : last_error_;
    std::fclose(file_);
    file_ = nullptr;
    throw std::runtime_error("cannot create trace file " + path_.string() + ": " + reason +
                             ". Choose another path with --har or --out.");
  }
}

har_file::~har_file() {
  if (file_) std::fclose(file_);
}

bool har_file::append(nlohmann::json const& entry) {
  std::string text;
  try {
    // replace: header values and bodies may carry bytes that are not UTF-8 (RFC 9110 obs-text).
    text = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (std::exception const& e) {
    last_error_ = std::string("cannot serialise a trace entry: ") + e.what();
    return false;
  }
  // Entry and tail go out in one write so the window in which the file is not valid JSON stays tiny.
  std::string chunk;
  chunk.reserve(text.size() + extras_.size() + 8);
  if (entries_ > 0) chunk += ',';
  chunk += '\n';
  chunk += text;
  auto const new_end = entries_end_ + static_cast<long>(chunk.size());
  chunk += "\n]";
  chunk += extras_;
  chunk += "}}\n";
  if (!write_at_entries_end(chunk)) return false;
  entries_end_ = new_end;
  ++entries_;
  return true;
}

bool har_file::set_log_extras(nlohmann::json const& extras) {
  if (!extras.is_object()) {
    last_error_ = "log extras must be a JSON object";
    return false;
  }
  std::string serialised;
  for (auto const& [key, value] : extras.items()) {
    serialised += ',';
    serialised += nlohmann::json(key).dump();
    serialised += ':';
    serialised += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  extras_ = std::move(serialised);
  return write_tail();
}

bool har_file::write_tail() {
  return write_at_entries_end("\n]" + extras_ + "}}\n");
}

bool har_file::write_at_entries_end(std::string const& text) {
  if (std::fseek(file_, entries_end_, SEEK_SET) != 0 ||
      std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0 ||
      ::ftruncate(::fileno(file_), entries_end_ + static_cast<long>(text.size())) != 0) {
    last_error_ = "cannot write trace file " + path_.string() + ": " + std::strerror(errno);
    std::clearerr(file_);
    return false;
  }
  return true;
}

}  // namespace regtrace::capture
