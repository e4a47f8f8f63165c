// trace_sink: many submitting threads, one writer, and no silent loss.

#include "capture/trace/trace_sink.hpp"
#include "capture/har/har_reader.hpp"
#include "tests/support/sample_exchanges.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>

using namespace regtrace::capture;

namespace {

// A sink that redacts and diagnoses into dir/trace.har, findings told to the listener (writer thread).
trace_sink_options diagnosing_options(
    std::filesystem::path const& dir,
    std::function<void(exchange const&, std::vector<rules::finding> const&)> on_findings) {
  return trace_sink_options{
      .har_path = dir / "trace.har",
      .redact = true,
      .queue_capacity = 16,
      .on_written = {},
      .on_problem = {},
      .diagnose = true,
      .on_findings = std::move(on_findings),
  };
}

}  // namespace

TEST_CASE("trace_sink writes every record submitted from four threads", "[capture][sink]") {
  auto const dir = test::scratch_dir("sink");
  std::atomic<int> written_callbacks{0};
  std::atomic<int> problems{0};
  std::atomic<int> accepted{0};  // Catch2 2.13 assertions are not thread-safe: count, check after join
  constexpr int per_thread = 50;
  {
    trace_sink sink(trace_sink_options{
        .har_path = dir / "trace.har",
        .redact = true,
        .queue_capacity = 4096,
        .on_written = [&](exchange const&) { ++written_callbacks; },
        .on_problem = [&](std::string const&) { ++problems; },
        .diagnose = true,
        .on_findings = {},
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&sink, &accepted, t] {
        for (int i = 0; i < per_thread; ++i) {
          auto x = test::manifest_get();
          x.connection_id = static_cast<std::uint64_t>(t + 1);
          x.request_index = static_cast<std::uint64_t>(i + 1);
          x.request_headers.push_back({"Authorization", "Bearer secret-token"});
          if (sink.submit(std::move(x))) ++accepted;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(accepted == 4 * per_thread);
    sink.close();
    sink.close();  // idempotent
    auto const stats = sink.stats();
    CHECK(stats.written == 4 * per_thread);
    CHECK(stats.dropped == 0);
    CHECK(stats.write_failed == 0);
  }
  CHECK(written_callbacks == 4 * per_thread);
  CHECK(problems == 0);

  auto const text = test::slurp(dir / "trace.har");
  auto const result = read_har_text(text);
  REQUIRE(result.ok);
  REQUIRE(result.exchanges.size() == 4 * per_thread);
  std::set<std::pair<std::uint64_t, std::uint64_t>> ids;
  for (auto const& x : result.exchanges) ids.emplace(x.connection_id, x.request_index);
  CHECK(ids.size() == 4 * per_thread);
  // Redaction ran before the disk (SPEC §4).
  CHECK(text.find("secret-token") == std::string::npos);
  auto const log = nlohmann::json::parse(text)["log"];
  CHECK(log["_regtrace"]["dropped_records"] == 0);
  CHECK(log["_regtrace"]["failed_records"] == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("trace_sink counts a record submitted after close and says so in the trace", "[capture][sink]") {
  auto const dir = test::scratch_dir("sink-closed");
  std::vector<std::string> problems;
  trace_sink_options options;
  options.har_path = dir / "trace.har";
  options.redact = false;
  options.on_problem = [&](std::string const& sentence) { problems.push_back(sentence); };
  trace_sink sink(std::move(options));
  CHECK(sink.submit(test::token_post()));
  sink.close();
  CHECK_FALSE(sink.submit(test::refused()));
  CHECK_FALSE(sink.submit(test::refused()));
  CHECK(sink.stats().dropped == 2);
  CHECK(sink.stats().written == 1);
  CHECK(problems.size() == 2);

  auto const doc = nlohmann::json::parse(test::slurp(dir / "trace.har"));
  CHECK(doc["log"]["entries"].size() == 1);
  CHECK(doc["log"]["_regtrace"]["dropped_records"] == 2);
  CHECK(doc["log"]["_regtrace"]["failed_records"] == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("trace_sink drops instead of blocking when its queue is full, and counts it", "[capture][sink]") {
  auto const dir = test::scratch_dir("sink-full");
  // The writer is held inside on_written for the first record, so the queue (capacity 1) cannot drain.
  std::promise<void> writer_busy;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> written{0};
  std::mutex problems_mutex;
  std::vector<std::string> problems;
  trace_sink_options options;
  options.har_path = dir / "trace.har";
  options.queue_capacity = 1;
  options.on_written = [&](exchange const&) {
    if (++written == 1) {
      writer_busy.set_value();
      released.wait();
    }
  };
  options.on_problem = [&](std::string const& sentence) {
    std::lock_guard lock(problems_mutex);
    problems.push_back(sentence);
  };
  trace_sink sink(std::move(options));
  REQUIRE(sink.submit(test::manifest_get()));
  writer_busy.get_future().wait();
  CHECK(sink.submit(test::token_post()));     // fills the queue
  CHECK_FALSE(sink.submit(test::refused()));  // dropped, without waiting
  CHECK(sink.stats().dropped == 1);
  release.set_value();
  sink.close();
  CHECK(sink.stats().written == 2);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].starts_with("1 record was dropped"));
  auto const doc = nlohmann::json::parse(test::slurp(dir / "trace.har"));
  CHECK(doc["log"]["entries"].size() == 2);
  CHECK(doc["log"]["_regtrace"]["dropped_records"] == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("trace_sink refuses to start without a writable trace", "[capture][sink]") {
  trace_sink_options options;
  options.har_path = "/nonexistent-regtrace-dir/t.har";
  CHECK_THROWS_WITH(trace_sink(options),
                    Catch::Contains("cannot create trace file /nonexistent-regtrace-dir/t.har"));
}

TEST_CASE("trace_sink diagnoses live: finding IDs on the entry, log._findings, the callback",
          "[capture][sink][rules]") {
  auto const dir = test::scratch_dir("sink-findings");
  std::vector<std::string> heard;
  {
    trace_sink sink(diagnosing_options(
        dir, [&](exchange const&, std::vector<regtrace::capture::rules::finding> const& found) {
          for (auto const& f : found) heard.push_back(f.id);  // writer thread; checked after close
        }));
    auto healthy = test::manifest_get();
    healthy.finding_ids.clear();
    healthy.target = "/v2/";  // a ping: nothing any rule could object to
    healthy.response_headers = {{"Content-Type", "application/json"}};
    healthy.response_body = test::text_body("{}");
    auto html = test::manifest_get();
    html.finding_ids.clear();
    html.status = 403;
    html.response_headers = {{"Content-Type", "text/html"}, {"Server", "waf"}};
    html.response_body.text = "<html><title>Blocked</title></html>";
    REQUIRE(sink.submit(healthy));
    REQUIRE(sink.submit(html));
    sink.close();
  }
  CHECK(heard == std::vector<std::string>{"A-12"});
  auto const har = nlohmann::json::parse(test::slurp(dir / "trace.har"));
  auto const& entries = har["log"]["entries"];
  REQUIRE(entries.size() == 2);
  CHECK(entries[0]["_regtrace"]["findings"].empty());
  CHECK(entries[1]["_regtrace"]["findings"] == nlohmann::json::array({"A-12"}));
  auto const& findings = har["log"]["_findings"];
  REQUIRE(findings.size() == 1);
  CHECK(findings[0]["id"] == "A-12");
  CHECK(findings[0]["severity"] == "error");
  CHECK(findings[0]["entries"] == nlohmann::json::array({1}));
  CHECK(har["log"]["_regtrace"]["dropped_records"] == 0);
}

// Issue 12: a cause shows on three requests in three batches; the listener hears of it each time, as the
// same cause with a growing count, every entry names it, and log._findings holds one finding for it.
TEST_CASE("trace_sink tells a cause once and keeps its one finding growing", "[capture][sink][rules]") {
  auto const dir = test::scratch_dir("sink-causes");
  std::mutex mutex;
  std::condition_variable heard_more;
  std::vector<std::pair<std::string, std::size_t>> heard;  // (id, times seen), one per finding told
  std::set<std::string> causes;
  auto rate_limited = [](char blob) {
    auto x = test::registry_exchange("GET", "/v2/app/blobs/sha256:" + std::string(64, blob), 429);
    x.started = test::trace_time(blob);
    return test::with_response(std::move(x),
                               R"({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]})");
  };
  auto live_findings = nlohmann::json();
  {
    trace_sink sink(diagnosing_options(dir, [&](exchange const&, std::vector<rules::finding> const& found) {
      std::lock_guard lock(mutex);
      for (auto const& f : found) {
        heard.emplace_back(f.id, rules::times_seen(f));
        causes.insert(f.id + " " + f.cause);
      }
      heard_more.notify_all();
    }));
    for (char blob : {'a', 'b', 'c'}) {
      REQUIRE(sink.submit(rate_limited(blob)));
      std::unique_lock lock(mutex);
      REQUIRE(heard_more.wait_for(lock, std::chrono::seconds(10),
                                  [&] { return heard.size() == static_cast<std::size_t>(blob - 'a' + 1); }));
    }
    // Before close: the live log._findings, rewritten as the finding grew.
    live_findings = nlohmann::json::parse(test::slurp(dir / "trace.har"))["log"]["_findings"];
    sink.close();
  }
  using told = std::vector<std::pair<std::string, std::size_t>>;
  CHECK(heard == told{{"C-13", 1}, {"C-13", 2}, {"C-13", 3}});
  CHECK(causes == std::set<std::string>{"C-13 registry.test"});
  REQUIRE(live_findings.size() == 1);
  CHECK(live_findings[0]["entries"] == nlohmann::json::array({0, 1, 2}));
  CHECK(live_findings[0]["explanation"].get<std::string>().find("Seen on 3 requests (#1, #2, #3).") !=
        std::string::npos);
  auto const har = nlohmann::json::parse(test::slurp(dir / "trace.har"));
  for (auto const& entry : har["log"]["entries"])
    CHECK(entry["_regtrace"]["findings"] == nlohmann::json::array({"C-13"}));
  auto const& findings = har["log"]["_findings"];
  REQUIRE(findings.size() == 1);
  CHECK(findings[0]["entries"] == nlohmann::json::array({0, 1, 2}));
}

TEST_CASE("the trace's summary names each client runtime with its request count", "[capture][sink]") {
  auto const dir = test::scratch_dir("sink-clients");
  {
    trace_sink sink(trace_sink_options{.har_path = dir / "trace.har", .redact = true, .queue_capacity = 64});
    for (auto const* agent : {"docker/20.10.24+dfsg1 go/go1.19.8", "containerd/1.6.20~ds1",
                              "docker/20.10.24+dfsg1 go/go1.19.8", ""}) {
      auto x = test::manifest_get();
      x.request_headers.erase(std::remove_if(x.request_headers.begin(), x.request_headers.end(),
                                             [](auto const& h) { return h.name == "User-Agent"; }),
                              x.request_headers.end());
      if (*agent) x.request_headers.push_back({"User-Agent", agent});
      REQUIRE(sink.submit(std::move(x)));
    }
    sink.close();
  }
  auto const har = nlohmann::json::parse(test::slurp(dir / "trace.har"));
  auto const& clients = har["log"]["_regtrace"]["clients"];
  REQUIRE(clients.size() == 2);
  CHECK(clients[0]["runtime"] == "docker");
  CHECK(clients[0]["version"] == "20.10.24+dfsg1");
  CHECK(clients[0]["requests"] == 2);
  CHECK(clients[1]["label"] == "containerd 1.6.20~ds1");
  CHECK(clients[1]["requests"] == 1);
}
