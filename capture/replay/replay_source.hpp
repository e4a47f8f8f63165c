#pragma once
// The trace a replaying proxy answers from (SPEC §6): loaded once at start-up, matched per request.

#include "capture/model/exchange.hpp"
#include "capture/replay/matcher.hpp"

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
  /// Reads the trace. Throws std::runtime_error with a sentence when it cannot be read or holds no
  /// answers; warnings (a truncated file) go to `warnings`.
  static std::unique_ptr<replay_source> load(std::filesystem::path const& har, std::vector<std::string>& warnings);

  struct answer {
    exchange recorded;  ///< a copy: the caller reads it across co_await
    std::size_t index = 0;       ///< the entry's position in the replayed trace
    bool repeated = false;
  };
  /// The recorded answer for a request with this match key (match_key), consuming
  /// entries in order; nullopt when the trace has none.
  std::optional<answer> next(std::string const& key);
  std::size_t answers() const { return matcher_.size(); }
  std::filesystem::path const& path() const { return path_; }

 private:
  replay_source(std::filesystem::path path, std::vector<exchange> recorded,
                std::vector<std::size_t> positions)
      : path_(std::move(path)), positions_(std::move(positions)), matcher_(std::move(recorded)) {}
  std::filesystem::path path_;
  std::vector<std::size_t> positions_;  ///< log.entries index of each exchange read
  std::mutex mutex_;
  matcher matcher_;
};

}  // namespace regtrace::capture::replay
