#pragma once
// The rules engine (SPEC §5): pure functions from recorded exchanges to findings. The same rules run
// live, as the proxy records, and offline on any HAR (`regtrace report`).

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace regtrace::capture::rules {

/// Every finding in a trace, most severe first: one per catalog ID and cause (issue 12), listing every
/// request that showed it. entries[i] is trace entry first_index + i.
/// trace_complete: nothing will be added after the last entry (offline, or the proxy stopped), so
/// rules about what a client never did may conclude; live diagnosis passes false.
std::vector<finding> diagnose(std::span<exchange const> entries, std::size_t first_index = 0,
                              bool trace_complete = true);

/// Live use: the proxy's trace writer adds each exchange as it is recorded and learns what changed.
/// Keeps a bounded window of recent exchanges, since sequence rules look back (catalog §0: sessions of
/// about 120 s), and each cause's finding so far, so a cause is reported once however long it goes on.
/// When the proxy stops, conclude(true) judges the window as a finished trace (what a client never
/// did); `regtrace report` gives the word over the whole file.
/// Not thread-safe: owned by the single trace writer.
class live_diagnostics {
 public:
  struct limits {
    std::size_t max_entries = 512;            ///< exchanges kept for sequence rules
    std::size_t max_text_bytes = 8u << 20;    ///< kept body text across the window
    std::size_t max_evidence = 1000;          ///< evidence items kept per cause (its count goes on)
  };
  /// What one run of the rules changed. Each finding is the cause's whole finding so far (every request
  /// seen, the count stated), most severe first.
  struct news {
    std::vector<finding> fresh;  ///< causes seen for the first time: report these
    std::vector<finding> grown;  ///< causes reported before that showed again (or changed severity)
    bool empty() const { return fresh.empty() && grown.empty(); }
  };

  live_diagnostics() : live_diagnostics(limits{}) {}
  explicit live_diagnostics(limits l) : limits_(l) {}

  /// Adds the next trace entry (index = its position in the trace): push() then conclude().
  news add(exchange x, std::size_t index);
  /// Adds the next trace entry to the window without running the rules (a batch is concluded once).
  void push(exchange x, std::size_t index);
  /// Runs the rules on the window and merges what they find into each cause's finding so far.
  /// trace_complete: nothing more will come (the proxy stopped), as diagnose() takes it.
  news conclude(bool trace_complete = false);
  /// Every cause's finding so far, the count stated, most severe first: what log._findings says live.
  std::vector<finding> findings() const;

 private:
  limits limits_;
  std::vector<exchange> window_;
  std::size_t window_first_index_ = 0;
  std::size_t window_text_bytes_ = 0;
  /// (id, cause) -> the finding so far, its count not stated. Entries before the window keep what they
  /// were last judged; the rules judge the window afresh on every run (a retry may recover a failure).
  std::map<std::pair<std::string, std::string>, finding> causes_;
};

}  // namespace regtrace::capture::rules
