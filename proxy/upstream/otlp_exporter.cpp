// The span exporter's queue, its thread and its batches. One POST is in otlp_post.cpp.
#include "proxy/upstream/otlp_exporter.hpp"

#include "capture/export/otlp_spans.hpp"
#include "proxy/config/local_host.hpp"
#include "proxy/upstream/otlp_post.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <thread>

namespace regtrace::proxy {

struct otlp_exporter::impl {
  otlp_exporter_options options;
  std::shared_ptr<spdlog::logger> log;
  capture::otlp::resource_info resource;
  std::string url;  // display_url(options.endpoint), for messages

  mutable std::mutex mutex;  // guards queue, counts, notes and closed
  std::deque<capture::otlp::span_facts> queue;
  counters counts;
  capture::otlp::finding_notes notes;
  bool closed = false;  // stop() has begun: submit() drops
  bool started = false;

  std::mt19937_64 random{std::random_device{}()};  // the writer thread's, for span ids
  std::atomic<bool> wake_posted{false};

  // The sender's own io_context and thread: a slow collector never holds a relay worker. What runs on
  // it holds a plain pointer to this impl, which owns it and outlives it.
  net::io_context io{1};
  net::steady_timer wake{io};
  net::steady_timer retry_wait{io};
  std::thread thread;
  std::promise<void> finished;
  // The sender's alone (its thread):
  bool stopping = false;
  std::chrono::steady_clock::time_point flush_deadline{};
  bool failing = false;
  std::uint64_t queue_full_told = 0;

  capture::otlp::span_ids fresh_ids();
  std::vector<capture::otlp::span_facts> take_batch();
  void count(std::uint64_t counters::*which, std::uint64_t n);
  void note_failure(std::string const& why);
  void note_success();
  std::chrono::milliseconds attempt_timeout() const;
};

namespace {

constexpr bool retryable(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// The delay before attempt `attempt + 1`: the collector's Retry-After, else 1 s, 2 s, 4 s...; both
// bounded by max_retry_delay.
std::chrono::seconds retry_delay(post_outcome const& outcome, unsigned attempt, std::chrono::seconds max) {
  auto const backoff = std::chrono::seconds(1L << std::min(attempt - 1, 10u));
  return std::min(outcome.retry_after.value_or(backoff), max);
}

// Sends one batch: up to max_attempts POSTs, a retry only for 429/502/503/504 (OTLP/HTTP "Failures and
// retries"), never once stopping. Spans not delivered are counted as dropped.
net::awaitable<void> deliver(otlp_exporter::impl* self, std::vector<capture::otlp::span_facts> batch) {
  capture::otlp::finding_notes notes;
  {
    std::lock_guard lock(self->mutex);
    notes = self->notes;
  }
  auto const body =
      std::make_shared<std::string const>(capture::otlp::encode_request(batch, self->resource, notes));
  auto const spans = static_cast<std::uint64_t>(batch.size());
  for (unsigned attempt = 1;; ++attempt) {
    auto const outcome = co_await post_spans(self->options.endpoint, body, self->attempt_timeout());
    self->count(&otlp_exporter::counters::requests, 1);
    if (outcome.status >= 200 && outcome.status < 300) {
      auto const rejected = std::min<std::uint64_t>(spans, std::max<std::int64_t>(0, outcome.rejected_spans));
      self->count(&otlp_exporter::counters::exported, spans - rejected);
      self->count(&otlp_exporter::counters::dropped_refused, rejected);
      self->note_success();
      co_return;
    }
    self->count(&otlp_exporter::counters::failed_requests, 1);
    self->note_failure(describe(outcome));
    if (!retryable(outcome.status) || attempt >= self->options.max_attempts || self->stopping) break;
    self->retry_wait.expires_after(retry_delay(outcome, attempt, self->options.max_retry_delay));
    co_await self->retry_wait.async_wait(use_nothrow);
    if (self->stopping) {
      self->count(&otlp_exporter::counters::dropped_at_stop, spans);
      co_return;
    }
  }
  self->count(&otlp_exporter::counters::dropped_refused, spans);
}

// The sender: a batch when max_batch_spans are queued or batch_interval has passed; on stop, what is
// queued, until the flush deadline.
net::awaitable<void> send_loop(otlp_exporter::impl* self) {
  for (;;) {
    if (!self->stopping) {
      self->wake.expires_after(self->options.batch_interval);
      co_await self->wake.async_wait(use_nothrow);
      self->wake_posted = false;
    }
    for (;;) {
      if (self->stopping && std::chrono::steady_clock::now() >= self->flush_deadline) co_return;
      auto batch = self->take_batch();
      if (batch.empty()) break;
      bool const full = batch.size() == self->options.max_batch_spans;
      co_await deliver(self, std::move(batch));
      if (!full && !self->stopping) break;
    }
    if (self->stopping) co_return;
  }
}

}  // namespace

capture::otlp::span_ids otlp_exporter::impl::fresh_ids() {
  capture::otlp::span_ids ids;
  auto fill = [this](auto& bytes) {
    do {
      for (std::size_t i = 0; i < bytes.size(); i += 8) {
        auto const word = random();
        for (std::size_t j = 0; j < 8 && i + j < bytes.size(); ++j)
          bytes[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
      }
    } while (std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; }));
  };
  fill(ids.trace);
  fill(ids.span);
  return ids;
}

std::vector<capture::otlp::span_facts> otlp_exporter::impl::take_batch() {
  std::lock_guard lock(mutex);
  std::vector<capture::otlp::span_facts> batch;
  auto const n = std::min(queue.size(), options.max_batch_spans);
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  // Said once from here rather than from submit(), which runs on the trace writer's thread.
  if (counts.dropped_queue_full > queue_full_told && queue_full_told == 0)
    log->warn("OTLP: the span queue ({} spans) is full; spans are dropped and counted",
              options.queue_capacity);
  queue_full_told = counts.dropped_queue_full;
  return batch;
}

void otlp_exporter::impl::count(std::uint64_t counters::*which, std::uint64_t n) {
  std::lock_guard lock(mutex);
  counts.*which += n;
}

void otlp_exporter::impl::note_failure(std::string const& why) {
  if (failing) return;
  failing = true;
  log->warn("OTLP: exporting spans to {} failed: {}; spans that cannot be sent are dropped and counted", url,
            why);
}

void otlp_exporter::impl::note_success() {
  if (!failing) return;
  failing = false;
  log->info("OTLP: exporting spans to {} works again", url);
}

std::chrono::milliseconds otlp_exporter::impl::attempt_timeout() const {
  if (!stopping) return options.request_timeout;
  auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(flush_deadline -
                                                                          std::chrono::steady_clock::now());
  return std::clamp(left, std::chrono::milliseconds(1), options.request_timeout);
}

otlp_exporter::otlp_exporter(otlp_exporter_options options, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  impl_->options.max_batch_spans = std::max<std::size_t>(1, impl_->options.max_batch_spans);
  impl_->options.max_attempts = std::max(1u, impl_->options.max_attempts);
  impl_->log = std::move(log);
  impl_->url = display_url(impl_->options.endpoint);
  impl_->resource = {
      .service_version = impl_->options.service_version,
      .host_name = impl_->options.host_name.empty() ? local_host_name() : impl_->options.host_name};
}

otlp_exporter::~otlp_exporter() {
  stop();
}

void otlp_exporter::submit(capture::exchange const& x) noexcept {
  auto& self = *impl_;
  try {
    auto facts = capture::otlp::facts_of(x, self.fresh_ids());
    std::lock_guard lock(self.mutex);
    if (self.closed || self.queue.size() >= self.options.queue_capacity) {
      ++self.counts.dropped_queue_full;
      return;
    }
    self.queue.push_back(std::move(facts));
    bool const batch_ready = self.queue.size() >= self.options.max_batch_spans;
    if (batch_ready && self.started && !self.wake_posted.exchange(true))
      net::post(self.io, [state = impl_.get()] { state->wake.cancel(); });
  } catch (std::exception const&) {
    std::lock_guard lock(self.mutex);
    ++self.counts.dropped_queue_full;  // out of memory: the span is lost like one the queue had no room for
  }
}

void otlp_exporter::note_findings(std::vector<capture::rules::finding> const& findings) noexcept {
  try {
    std::lock_guard lock(impl_->mutex);
    for (auto const& f : findings) impl_->notes[f.id] = {.title = f.title, .level = f.level};
  } catch (std::exception const&) {
    // A title the events go without: the ID still names the finding.
  }
}

void otlp_exporter::start() {
  auto& self = *impl_;
  {
    std::lock_guard lock(self.mutex);
    if (self.started || self.closed) return;
    self.started = true;
  }
  net::co_spawn(self.io, send_loop(impl_.get()), [state = impl_.get()](std::exception_ptr error) {
    if (error) state->log->error("OTLP: the span exporter ended unexpectedly; spans are no longer sent");
    state->finished.set_value();
  });
  self.thread = std::thread([state = impl_.get()] { state->io.run(); });
}

void otlp_exporter::stop() {
  auto& self = *impl_;
  {
    std::lock_guard lock(self.mutex);
    if (self.closed) return;
    self.closed = true;
  }
  if (self.thread.joinable()) {
    auto const deadline = std::chrono::steady_clock::now() + self.options.flush_timeout;
    net::post(self.io, [state = impl_.get(), deadline] {
      state->stopping = true;
      state->flush_deadline = deadline;
      state->wake.cancel();
      state->retry_wait.cancel();
    });
    // The request in flight is bounded by the deadline too; the extra second covers a slow resolver.
    self.finished.get_future().wait_until(deadline + std::chrono::seconds(1));
    self.io.stop();
    self.thread.join();
  }
  std::lock_guard lock(self.mutex);
  self.counts.dropped_at_stop += self.queue.size();
  self.queue.clear();
}

otlp_exporter::counters otlp_exporter::stats() const {
  std::lock_guard lock(impl_->mutex);
  auto c = impl_->counts;
  c.dropped = c.dropped_queue_full + c.dropped_refused + c.dropped_at_stop;
  return c;
}

}  // namespace regtrace::proxy
