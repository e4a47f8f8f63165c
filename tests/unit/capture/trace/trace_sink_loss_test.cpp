// trace_sink when the trace file cannot be written (issue 13): a full disk is said once, the lost
// records are counted, and the return of space is said once with the count, which the trace then holds.

#include "capture/trace/trace_sink.hpp"
#include "tests/support/sample_exchanges.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace regtrace::capture;

namespace {

// What a sink told its listeners, kept for the test thread (the writer thread calls in).
struct heard {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> problems;
  std::size_t written = 0;

  /// Waits (bounded, so a broken sink ends the test) until pred holds.
  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return pred(*this); });
  }
};

nlohmann::json read_log(std::filesystem::path const& har) {
  return nlohmann::json::parse(test::slurp(har))["log"];
}

}  // namespace

TEST_CASE("trace_sink says once that records are lost, counts them, and says when writing resumes",
          "[capture][sink][loss]") {
  auto const dir = test::scratch_dir("sink-loss");
  auto const har = dir / "trace.har";
  std::atomic<bool> disk_full{false};
  heard h;
  trace_sink sink(trace_sink_options{
                      .har_path = har,
                      .redact = false,
                      .queue_capacity = 4096,
                      .on_written =
                          [&](exchange const&) {
                            std::lock_guard lock(h.mutex);
                            ++h.written;
                            h.changed.notify_all();
                          },
                      .on_problem =
                          [&](std::string const& sentence) {
                            std::lock_guard lock(h.mutex);
                            h.problems.push_back(sentence);
                            h.changed.notify_all();
                          },
                      .diagnose = false,
                      .on_findings = {},
                  },
                  [&] { return disk_full ? std::string("No space left on device") : std::string(); });
  auto const submit = [&](int n) {
    for (int i = 0; i < n; ++i) REQUIRE(sink.submit(test::manifest_get()));
  };

  submit(2);
  REQUIRE(h.wait([](heard const& s) { return s.written == 2; }));

  disk_full = true;
  submit(40);
  REQUIRE(h.wait([&](heard const&) { return sink.stats().write_failed == 40; }));
  {
    std::lock_guard lock(h.mutex);
    // One line for forty lost records, not forty.
    REQUIRE(h.problems.size() == 1);
    CHECK(h.problems[0] ==
          "trace writing failed: No space left on device; records are being counted as lost");
  }
  // Nothing touched the file meanwhile: still the two entries, readable.
  CHECK(read_log(har)["entries"].size() == 2);

  disk_full = false;  // space returns
  submit(1);
  REQUIRE(h.wait([](heard const& s) { return s.written == 3; }));
  {
    std::lock_guard lock(h.mutex);
    REQUIRE(h.problems.size() == 2);
    CHECK(h.problems[1] ==
          "trace writing resumed after 40 records were lost; the trace counts them in "
          "log._regtrace.failed_records");
  }
  // The count is in the trace as soon as writing works, not only at close.
  auto live = read_log(har);
  CHECK(live["entries"].size() == 3);
  CHECK(live["_regtrace"]["failed_records"] == 40);

  // A second full disk is a new episode: said once again, counted from its own start.
  disk_full = true;
  submit(3);
  REQUIRE(h.wait([&](heard const&) { return sink.stats().write_failed == 43; }));
  disk_full = false;
  submit(1);
  REQUIRE(h.wait([](heard const& s) { return s.written == 4; }));
  sink.close();
  {
    std::lock_guard lock(h.mutex);
    REQUIRE(h.problems.size() == 4);
    CHECK(h.problems[2].starts_with("trace writing failed: No space left on device"));
    CHECK(h.problems[3].starts_with("trace writing resumed after 3 records were lost"));
  }
  auto const closed = read_log(har);
  CHECK(closed["entries"].size() == 4);
  CHECK(closed["_regtrace"]["failed_records"] == 43);
  CHECK(closed["_regtrace"]["dropped_records"] == 0);
  CHECK(sink.stats().written == 4);
  std::filesystem::remove_all(dir);
}

TEST_CASE("trace_sink still counts the lost records when space returns only at close",
          "[capture][sink][loss]") {
  auto const dir = test::scratch_dir("sink-loss-close");
  std::atomic<bool> disk_full{true};
  std::vector<std::string> problems;  // read after close(), which joins the writer
  trace_sink sink(
      trace_sink_options{
          .har_path = dir / "trace.har",
          .redact = false,
          .queue_capacity = 4096,
          .on_written = {},
          .on_problem = [&](std::string const& sentence) { problems.push_back(sentence); },
          .diagnose = false,
          .on_findings = {},
      },
      [&] { return disk_full ? std::string("No space left on device") : std::string(); });
  for (int i = 0; i < 5; ++i) REQUIRE(sink.submit(test::manifest_get()));
  for (int tries = 0; tries < 2000 && sink.stats().write_failed < 5; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(sink.stats().write_failed == 5);
  disk_full = false;
  sink.close();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].starts_with("trace writing failed: "));
  auto const log = read_log(dir / "trace.har");
  CHECK(log["entries"].empty());
  CHECK(log["_regtrace"]["failed_records"] == 5);
  std::filesystem::remove_all(dir);
}
