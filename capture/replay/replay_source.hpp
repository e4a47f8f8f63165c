#pragma once
// The trace a replaying proxy answers from (SPEC §6): read once at start-up, matched per request.
// Only each entry's match key and byte range stay in memory; the entry that answers is read again
// from the file when it is needed, so memory is bounded by the largest entry, not by the trace
// (SPEC §8, issue 13).

#include "capture/model/exchange.hpp"
#include "capture/replay/matcher.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace regtrace::capture::replay {

/// Thread-safe: next() may be called from every worker.
class replay_source {
 public:
  /// Reads the trace and keeps it open. Throws std::runtime_error with a sentence when it cannot be
  /// read or holds no answers; warnings (a truncated file, skipped entries) go to `warnings`.
  static std::unique_ptr<replay_source> load(std::filesystem::path const& har,
                                             std::vector<std::string>& warnings);

  struct answer {
    exchange recorded;      ///< a copy: the caller reads it across co_await
    std::size_t index = 0;  ///< the entry's position in the replayed trace
    bool repeated = false;
  };
  /// The recorded answer for a request with this match key (match_key), consuming entries in order;
  /// nullopt when the trace has none, or when the entry no longer reads as it did at load (the file
  /// was changed since). Reads the entry from the file: a pread of its bytes, on the caller's thread.
  std::optional<answer> next(std::string const& key);
  std::size_t answers() const { return matcher_.size(); }
  std::filesystem::path const& path() const { return path_; }

 private:
  struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  struct entry_range {
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
  };
  replay_source(std::filesystem::path path, std::unique_ptr<std::FILE, file_closer> file)
      : path_(std::move(path)), file_(std::move(file)) {}
  std::optional<std::string> read_range(entry_range range) const;

  std::filesystem::path path_;
  std::unique_ptr<std::FILE, file_closer> file_;  ///< read with pread only: no shared position
  std::vector<entry_range> ranges_;               ///< per matcher answer
  std::mutex mutex_;                              ///< guards matcher_ (ranges_ is fixed after load)
  matcher matcher_;
};

}  // namespace regtrace::capture::replay
