#include "capture/trace/trace_sink.hpp"

#include "capture/har/har_writer.hpp"
#include "capture/redaction/redaction.hpp"
#include "capture/rules/rules.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

namespace regtrace::capture {
namespace {

// How often the live rules run at most, and how many records one run takes (see take_batch()).
constexpr auto diagnosis_interval = std::chrono::milliseconds(50);
constexpr std::size_t max_batch = 256;

template <class Callback, class... Args>
void notify(Callback const& callback, Args const&... args) noexcept {
  if (!callback) return;
  try {
    callback(args...);
  } catch (...) {
    // A console callback must not take the writer down with it.
  }
}

std::string dropped_sentence(std::uint64_t n) {
  return std::to_string(n) + (n == 1 ? " record was" : " records were") +
         " dropped because the trace queue was full or closed; the trace counts them";
}

// Batch position -> the findings that record completed.
using findings_by_position = std::map<std::size_t, std::vector<rules::finding>>;

// Each request in this batch that showed a finding gets its ID (its entry's _regtrace.findings). A
// finding is told with the last of them, else its last evidence entry in this batch, else the batch's
// last record stands for it on the console. first: the trace entry of batch[0].
findings_by_position place_findings(std::vector<exchange>& batch, std::size_t first,
                                    std::vector<rules::finding> const& changed) {
  auto in_batch = [&](std::size_t entry) { return entry >= first && entry < first + batch.size(); };
  findings_by_position completed_by;
  for (auto const& f : changed) {
    std::optional<std::size_t> position;
    for (auto const entry : f.seen_on) {
      if (!in_batch(entry)) continue;
      position = entry - first;
      auto& ids = batch[*position].finding_ids;
      if (std::find(ids.begin(), ids.end(), f.id) == ids.end()) ids.push_back(f.id);
    }
    for (auto const& item : f.evidence)
      if (!position && in_batch(item.entry)) position = item.entry - first;
    completed_by[position.value_or(batch.size() - 1)].push_back(f);
  }
  return completed_by;
}

}  // namespace

// What one batch changed in the findings.
struct trace_sink::batch_findings {
  bool changed = false;               ///< a cause was seen for the first time, or again
  std::vector<rules::finding> all;    ///< every cause's finding so far, when changed: log._findings
  findings_by_position completed_by;  ///< the new and grown findings, by the record that showed them
};

trace_sink::trace_sink(trace_sink_options options, write_failure_injector inject_write_failure)
    : options_(std::move(options)),
      inject_write_failure_(std::move(inject_write_failure)),
      file_(std::make_unique<har_file>(options_.har_path, options_.node)) {
  if (options_.diagnose) diagnostics_ = std::make_unique<rules::live_diagnostics>();
  thread_ = std::thread([this] { run(); });
}

trace_sink::~trace_sink() {
  close();
}

bool trace_sink::submit(exchange x) noexcept {
  std::string problem;
  bool counted = false;
  try {
    std::lock_guard lock(mutex_);
    if (!closing_ && queue_.size() < options_.queue_capacity) {
      queue_.push_back(std::move(x));
      // Only the first record wakes the writer: with more queued it is up already, or waiting out
      // diagnosis_interval on purpose (a wake-up per request costs the relay a context switch).
      if (queue_.size() == 1) wake_.notify_one();
      return true;
    }
    ++counters_.dropped;
    counted = true;
    if (stopped_) {
      // No writer left to notice: say it in the trace now (SPEC §4, no silent loss).
      report_counters(counters_);
      problem = "a record was submitted after the trace was closed and is missing from " +
                options_.har_path.string();
    }
  } catch (...) {
    // Out of memory (the guard has already unlocked): the record is lost, but not uncounted.
    if (!counted) {
      std::lock_guard lock(mutex_);
      ++counters_.dropped;
    }
  }
  if (!problem.empty()) notify(options_.on_problem, problem);
  return false;
}

void trace_sink::close() {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    closing_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::uint64_t late_drops = 0;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    // Records dropped after the writer's last look at the counters.
    late_drops = counters_.dropped - reported_.dropped;
    report_counters(counters_);
    if (options_.diagnose) final_diagnosis();
    write_extras(counters_);  // the final findings and counts of log._regtrace.clients
  }
  if (late_drops > 0) notify(options_.on_problem, dropped_sentence(late_drops));
}

trace_sink::counters trace_sink::stats() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void trace_sink::report_counters(counters now) noexcept {
  if (now.dropped == reported_.dropped && now.write_failed == reported_.write_failed) return;
  if (write_extras(now)) reported_ = now;
}

bool trace_sink::write_extras(counters now) noexcept {
  try {
    if (inject_write_failure_ && !inject_write_failure_().empty()) return false;
    auto findings = nlohmann::json::array();
    for (auto const& f : findings_) findings.push_back(rules::to_json(f));
    nlohmann::json const extras{
        {"_findings", std::move(findings)},
        {"_regtrace",
         {{"dropped_records", now.dropped}, {"failed_records", now.write_failed}, {"clients", registry::clients_json(clients_)}}}};
    return file_->set_log_extras(extras);
  } catch (...) {
    // Out of memory: the extras stay as they were and are retried on the next change.
    return false;
  }
}

void trace_sink::final_diagnosis() noexcept {
  try {
    // The live window judged as a finished trace, not the whole file read back: a stop must not take
    // longer the longer regtrace ran (issue 13: 8 s after 55,000 entries). `regtrace report` re-reads all.
    diagnostics_->conclude(true);
    findings_ = diagnostics_->findings();
  } catch (...) {
    // Out of memory: the live findings stay in the trace.
  }
}

void trace_sink::run() {
  auto last_diagnosis = std::chrono::steady_clock::time_point{};
  for (;;) {
    counters seen;
    auto batch = take_batch(last_diagnosis, seen);
    if (seen.dropped != reported_.dropped) {
      notify(options_.on_problem, dropped_sentence(seen.dropped - reported_.dropped));
    }
    report_counters(seen);
    if (batch.empty()) return;  // closing and drained
    last_diagnosis = std::chrono::steady_clock::now();

    auto found = redact_and_diagnose(batch);
    seen = write_batch(batch);
    if (found.changed) {
      findings_ = std::move(found.all);
      write_extras(seen);
      for (auto const& [position, f] : found.completed_by) notify(options_.on_findings, batch[position], f);
    }
  }
}

std::vector<exchange> trace_sink::take_batch(std::chrono::steady_clock::time_point last_diagnosis,
                                             counters& seen) {
  std::vector<exchange> batch;
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
  // The rules read a window of hundreds of entries: run them once per batch, at most every
  // diagnosis_interval, not on every record (measured: on each of 1000 kept-alive HEADs a second
  // they took half a millisecond of a core the client and registry needed). A record waits at most
  // that long to be written.
  if (diagnostics_) wake_.wait_until(lock, last_diagnosis + diagnosis_interval, [this] { return closing_; });
  while (!queue_.empty() && batch.size() < max_batch) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  seen = counters_;
  return batch;
}

trace_sink::batch_findings trace_sink::redact_and_diagnose(std::vector<exchange>& batch) {
  batch_findings found;
  std::string problem;
  try {
    if (options_.redact)
      for (auto& x : batch) redact(x);
    if (diagnostics_) {
      // Diagnosed after redaction, exactly as `regtrace report` will see the entries on disk.
      std::size_t const first = file_->entries();
      for (std::size_t i = 0; i < batch.size(); ++i) diagnostics_->push(batch[i], first + i);
      auto news = diagnostics_->conclude();
      if (!news.empty()) {
        // New causes first: a listener prints each cause once, the first time it hears of it.
        auto& changed = news.fresh;
        changed.insert(changed.end(), std::make_move_iterator(news.grown.begin()),
                       std::make_move_iterator(news.grown.end()));
        found.completed_by = place_findings(batch, first, changed);
        found.all = diagnostics_->findings();
        found.changed = true;
      }
    }
  } catch (std::exception const& e) {
    problem = std::string("cannot diagnose trace records: ") + e.what();  // written without findings
    found = batch_findings{};
  }
  if (!problem.empty()) notify(options_.on_problem, problem);
  return found;
}

trace_sink::counters trace_sink::write_batch(std::vector<exchange> const& batch) {
  counters seen;
  for (auto const& x : batch) {
    std::string problem;
    bool const written = append(x, problem);
    {
      std::lock_guard lock(mutex_);
      ++(written ? counters_.written : counters_.write_failed);
      seen = counters_;
    }
    note_outcome(written, seen, problem);
    if (!written) continue;
    // A new client is in the summary at once; the counts are brought up to date with the next extras.
    if (registry::count_client(clients_, x)) write_extras(seen);
    notify(options_.on_written, x);
  }
  return seen;
}

bool trace_sink::append(exchange const& x, std::string& problem) noexcept {
  try {
    if (inject_write_failure_) problem = inject_write_failure_();
    if (!problem.empty()) return false;
    if (file_->append(to_har_entry(x))) return true;
    problem = file_->last_error();
  } catch (std::exception const& e) {
    problem = std::string("cannot write a trace record: ") + e.what();
  } catch (...) {
    problem = "cannot write a trace record";
  }
  return false;
}

void trace_sink::note_outcome(bool written, counters now, std::string const& problem) {
  if (written && failing_since_) {
    auto const lost = now.write_failed - *failing_since_;
    failing_since_.reset();
    // The records lost go into the trace now, while writing works, not at the next batch.
    report_counters(now);
    notify(options_.on_problem, "trace writing resumed after " + std::to_string(lost) +
                                    (lost == 1 ? " record was lost" : " records were lost") +
                                    "; the trace counts them in log._regtrace.failed_records");
  } else if (!written) {
    // The file is told of every loss (it may have room for the counters again); the console once.
    report_counters(now);
    if (failing_since_) return;
    failing_since_ = now.write_failed - 1;
    notify(options_.on_problem, "trace writing failed: " + problem + "; records are being counted as lost");
  }
}

}  // namespace regtrace::capture
