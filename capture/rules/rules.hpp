#pragma once
// The rules engine (SPEC §5): pure functions from recorded exchanges to findings. The same rules run
// live, as the proxy records, and offline on any HAR (`regtrace report`).

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"

#include <cstddef>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace regtrace::capture::rules {

/// Every finding in a trace, most severe first. entries[i] is trace entry first_index + i.
/// trace_complete: nothing will be added after the last entry (offline, or the proxy stopped), so
/// rules about what a client never did may conclude; live diagnosis passes false.
std::vector<finding> diagnose(std::span<exchange const> entries, std::size_t first_index = 0,
                              bool trace_complete = true);

/// Live use: the proxy's trace writer adds each exchange as it is recorded and gets the findings that
/// this exchange completes. Keeps a bounded window of recent exchanges, since sequence rules look
/// back (catalog §0: sessions of about 120 s); the final word is diagnose() over the whole file.
/// Not thread-safe: owned by the single trace writer.
class live_diagnostics {
 public:
  struct limits {
    std::size_t max_entries = 512;            ///< exchanges kept for sequence rules
    std::size_t max_text_bytes = 8u << 20;    ///< kept body text across the window
  };
  live_diagnostics() : live_diagnostics(limits{}) {}
  explicit live_diagnostics(limits l) : limits_(l) {}

  /// Adds the next trace entry (index = its position in the trace) and returns the findings not
  /// reported before, most severe first: push() then conclude().
  std::vector<finding> add(exchange x, std::size_t index);
  /// Adds the next trace entry to the window without running the rules (a batch is concluded once).
  void push(exchange x, std::size_t index);
  /// Runs the rules on the window; returns the findings not reported before, most severe first.
  std::vector<finding> conclude();

 private:
  limits limits_;
  std::vector<exchange> window_;
  std::size_t window_first_index_ = 0;
  std::size_t window_text_bytes_ = 0;
  std::set<std::pair<std::string, std::size_t>> reported_;  ///< (id, first evidence entry)
};

}  // namespace regtrace::capture::rules
