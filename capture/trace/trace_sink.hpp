#pragma once
// The single writer of the trace (STYLE rule 8): relay coroutines submit finished exchanges without
// waiting; one thread redacts, writes the HAR and tells the console. A full queue drops the record,
// counts it, and the count is written into the trace.

#include "capture/model/exchange.hpp"
#include "capture/registry/user_agent.hpp"
#include "capture/rules/finding.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace regtrace::capture {

class har_file;
namespace rules {
class live_diagnostics;
}

struct trace_sink_options {
  std::filesystem::path har_path;
  /// This machine's name, written into the trace as log.creator._node (the fleet report names the
  /// node by it); "" writes none.
  std::string node{};
  bool redact = true;
  std::size_t queue_capacity = 4096;
  /// Called on the writer thread after each record is written (already redacted). May be empty.
  std::function<void(exchange const&)> on_written;
  /// Called on the writer thread when a record cannot be written or was dropped; a sentence. A record
  /// submitted after close() is reported on the submitting thread, since the writer is gone. Writes
  /// that keep failing (a full disk) are told twice, not once per record (issue 13): when the first
  /// fails ("trace writing failed: ...; records are being counted as lost") and when one works again
  /// ("trace writing resumed after N records were lost").
  std::function<void(std::string const&)> on_problem;
  /// Run the rules on each record as it is written (SPEC §5): each entry lists the IDs of the
  /// findings it showed, log._findings holds one finding per cause (issue 12), and on_findings hears
  /// of each.
  bool diagnose = true;
  /// Called on the writer thread, after on_written, with the findings a record completed: a cause
  /// seen for the first time, and again, as its whole finding so far (every request, the count
  /// stated), each time it shows on another request. A listener keys them by id and cause, prints a
  /// cause once and keeps its count (times_seen). New causes come first, most severe first. May be
  /// empty.
  std::function<void(exchange const&, std::vector<rules::finding> const&)> on_findings;
};

/// Test seam (STYLE rule 14, injected failures): asked before each write to the trace file; a
/// non-empty sentence fails that write with it as the reason, as a full disk would, and leaves the file
/// untouched. Called on the writer thread, and by close().
using write_failure_injector = std::function<std::string()>;

/// Thread-safe: submit() from any thread; close() once, from the owner.
class trace_sink {
 public:
  /// Opens the HAR file (throws std::runtime_error with a sentence if it cannot) and starts the thread.
  /// inject_write_failure: empty outside tests.
  explicit trace_sink(trace_sink_options options, write_failure_injector inject_write_failure = {});
  ~trace_sink();
  trace_sink(trace_sink const&) = delete;
  trace_sink& operator=(trace_sink const&) = delete;

  /// Queues one finished exchange. Never blocks; returns false when it was dropped (queue full/closed).
  bool submit(exchange x) noexcept;
  /// Drains the queue, writes the final tail and stops the thread. Idempotent.
  void close();

  struct counters {
    std::uint64_t written = 0;
    std::uint64_t dropped = 0;       ///< queue full, or submitted after close()
    std::uint64_t write_failed = 0;  ///< I/O errors
  };
  counters stats() const;
  std::filesystem::path const& path() const { return options_.har_path; }

 private:
  struct batch_findings;

  /// The writer thread: take a batch, redact and diagnose it, write it, publish its findings; until
  /// close() and an empty queue.
  void run();
  /// Waits for records (and, with the rules on, out the rest of diagnosis_interval since
  /// last_diagnosis), then takes up to max_batch of them; seen: the counters at that moment.
  std::vector<exchange> take_batch(std::chrono::steady_clock::time_point last_diagnosis, counters& seen);
  /// Redacts the batch and runs the live rules on it, marking each record with the finding IDs it
  /// completed. No findings when the rules are off or fail (on_problem hears of a failure).
  batch_findings redact_and_diagnose(std::vector<exchange>& batch);
  /// Appends each record; on_written or on_problem hears of each. Returns the counters after the last.
  counters write_batch(std::vector<exchange> const& batch);
  /// Appends one record; false with the reason in problem.
  bool append(exchange const& x, std::string& problem) noexcept;
  /// Tells on_problem when records begin to be lost and when writing works again, once each (issue
  /// 13: a full disk printed a line per lost record). now: the counters after this record.
  void note_outcome(bool written, counters now, std::string const& problem);
  /// Writes the dropped/failed counts into the trace when they changed. Caller owns the file: the
  /// writer thread, or anyone holding mutex_ once the writer has stopped.
  void report_counters(counters now) noexcept;
  /// Rewrites the log-level extras: findings and counters. Caller owns the file, as above.
  bool write_extras(counters now) noexcept;
  /// Diagnoses the whole file once the writer has stopped, so log._findings ends as `regtrace report`
  /// would say (the live window sees only recent entries).
  void final_diagnosis() noexcept;

  trace_sink_options options_;
  write_failure_injector inject_write_failure_;
  std::unique_ptr<har_file> file_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<exchange> queue_;
  counters counters_;
  counters reported_;  ///< what the trace's extras say; touched only by whoever owns the file
  std::unique_ptr<rules::live_diagnostics> diagnostics_;  ///< writer thread only
  std::vector<rules::finding> findings_;  ///< what log._findings says, one per cause; owned like reported_
  std::vector<registry::client_summary> clients_;  ///< log._regtrace.clients: who sent the records written
  /// write_failed when the current run of failed writes began; empty while writing works. Writer
  /// thread only.
  std::optional<std::uint64_t> failing_since_;
  bool closing_ = false;
  bool stopped_ = false;  ///< the writer thread has been joined; the file belongs to mutex_ holders
  std::thread thread_;
};

}  // namespace regtrace::capture
