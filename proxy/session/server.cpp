#include "proxy/session/server.hpp"

#include "capture/export/metrics.hpp"
#include "proxy/config/local_host.hpp"
#include "proxy/io/listen.hpp"
#include "proxy/session/client_session.hpp"
#include "proxy/session/client_watch.hpp"
#include "proxy/session/metrics_server.hpp"
#include "proxy/session/proxy_context.hpp"
#include "tls/contexts.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>

#include <malloc.h>

#include <optional>
#include <stdexcept>
#include <thread>

namespace regtrace::proxy {

// One io_context per worker thread, each run by that thread alone: a connection's coroutine, its
// sockets and its upstream pool live on one thread, so no strand or lock sits on the data path
// (a strand per connection cost a third of the relay's throughput, measured with perf).
struct worker {
  net::io_context io{1};  // concurrency hint 1: only this worker's thread runs it
  net::executor_work_guard<net::io_context::executor_type> keep_running{io.get_executor()};
  std::thread thread;
};

struct server::impl {
  std::vector<std::unique_ptr<worker>> workers;
  std::optional<tcp::acceptor> acceptor;  // on worker 0
  std::unique_ptr<otlp_exporter> otlp;      // --otlp-endpoint; before sink, whose hooks point at it
  std::unique_ptr<capture::trace_sink> sink;
  std::shared_ptr<proxy_context> context;
  std::shared_ptr<capture::exchange_metrics> metrics;  // --metrics; fed on the trace writer's thread
  std::unique_ptr<metrics_server> metrics_listener;    // on worker 0
  net::steady_timer* trim_timer = nullptr;  // trim_when_quiet's, on worker 0, while it runs
  bool stopped = false;
};

namespace {

net::ssl::context adopt(tls::result<tls::ssl_ctx_ptr> made) {
  if (!made) throw std::runtime_error(made.error().message);
  return net::ssl::context(made.value().release());
}

struct tls_contexts {
  net::ssl::context client;
  net::ssl::context upstream;
};

// The client-facing and upstream TLS contexts, with the key log when one is asked for.
tls_contexts make_tls_contexts(proxy_config const& config) {
  tls_contexts made{adopt(tls::make_client_facing_context()),
                    adopt(tls::make_upstream_context(
                        {.extra_ca_files = config.upstream_ca_files, .insecure = config.insecure_upstream}))};
  if (!config.keylog_file.empty()) {
    for (auto* ctx : {made.client.native_handle(), made.upstream.native_handle()}) {
      if (auto enabled = tls::enable_keylog(ctx, config.keylog_file); !enabled)
        throw std::runtime_error(enabled.error().message);
    }
  }
  return made;
}

// Binds the listener to --listen (port 0: any free port).
void bind_listener(tcp::acceptor& acceptor, proxy_config const& config) {
  beast::error_code ec;
  auto address = net::ip::make_address(config.listen_host, ec);
  if (ec) throw std::runtime_error("cannot listen on \"" + config.listen_host + "\": not an IP address");
  ec = open_listener(acceptor, tcp::endpoint(address, config.listen_port));
  if (ec) {
    throw std::runtime_error("cannot listen on " + config.listen_host + ":" +
                             std::to_string(config.listen_port) + ": " + ec.message() +
                             ". Is another proxy running there? Choose another address with --listen.");
  }
}

// The trace --replay answers from, its warnings logged; nullptr without --replay.
std::unique_ptr<capture::replay::replay_source> load_replay(proxy_config const& config, spdlog::logger& log) {
  if (config.replay_har.empty()) return nullptr;
  std::vector<std::string> warnings;
  auto replay = capture::replay::replay_source::load(config.replay_har, warnings);
  for (auto const& warning : warnings) log.warn("{}: {}", config.replay_har.string(), warning);
  return replay;
}

// An exporter as one more listener of the trace writer (STYLE: beside the trace writer, never on the
// relay's path), told after those already there: the console first.
void add_trace_listener(server_hooks& hooks, std::function<void(capture::exchange const&)> on_exchange,
                        std::function<void(std::vector<capture::rules::finding> const&)> on_findings) {
  hooks.on_exchange = [mine = std::move(on_exchange), next = std::move(hooks.on_exchange)](capture::exchange const& x) {
    if (next) next(x);
    mine(x);
  };
  hooks.on_findings = [mine = std::move(on_findings), next = std::move(hooks.on_findings)](
                          capture::exchange const& x, std::vector<capture::rules::finding> const& found) {
    if (next) next(x, found);
    mine(found);
  };
}

// --metrics (issue 15): what the trace writer writes is counted, and served on worker 0; in-flight
// exchanges and lost records are read when scraped. Binds before the trace is opened, as --listen does.
void open_metrics(server::impl& state, proxy_config& config, server_hooks& hooks,
                  std::shared_ptr<spdlog::logger> const& log) {
  auto* self = &state;  // owns the metrics, so outlives every scrape
  state.metrics = std::make_shared<capture::exchange_metrics>(capture::metrics_sources{
      .exchanges_in_flight =
          [self] {
            auto const open = self->context->open_connections.load();
            auto const idle = self->context->idle_connections.load();
            return open > idle ? open - idle : 0;  // read apart, so idle may briefly run ahead
          },
      .records_lost =
          [self] {
            auto const counters = self->sink->stats();
            return counters.dropped + counters.write_failed;
          },
  });
  state.metrics_listener = metrics_server::create(
      state.workers[0]->io,
      {.host = config.metrics_host,
       .port = config.metrics_port,
       .allow_remote = config.allow_remote,
       .idle_timeout = config.idle_timeout},
      [metrics = state.metrics] { return metrics->exposition(); }, log);
  config.metrics_port = state.metrics_listener->port();
  add_trace_listener(
      hooks, [metrics = state.metrics](capture::exchange const& x) { metrics->observe(x); },
      [metrics = state.metrics](std::vector<capture::rules::finding> const& found) {
        metrics->observe_findings(found);
      });
}

// --otlp-endpoint (SPEC §9): the exporter hears of every written exchange and of the findings, beside
// the console, on the trace writer's thread; nullptr without the option.
std::unique_ptr<otlp_exporter> attach_otlp(proxy_config const& config, std::shared_ptr<spdlog::logger> log,
                                           server_hooks& hooks) {
  if (config.otlp_endpoint.empty()) return nullptr;
  otlp_exporter_options options;
  options.endpoint = parse_otlp_endpoint(config.otlp_endpoint);
  auto exporter = std::make_unique<otlp_exporter>(std::move(options), std::move(log));
  add_trace_listener(
      hooks, [spans = exporter.get()](capture::exchange const& x) { spans->submit(x); },
      [spans = exporter.get()](std::vector<capture::rules::finding> const& found) { spans->note_findings(found); });
  return exporter;
}

// Accepts until the acceptor is closed, handing connections to the workers in turn.
net::awaitable<void> accept_loop(std::shared_ptr<server::impl> state) {
  for (std::size_t next = 0;; ++next) {
    auto const index = next % state->workers.size();
    auto [ec, socket] = co_await state->acceptor->async_accept(state->workers[index]->io, use_nothrow);
    if (ec == net::error::operation_aborted || !state->acceptor->is_open()) co_return;
    if (ec) {
      // Out of descriptors or similar: say so and keep serving; the backlog holds the clients.
      state->context->log->warn("accept failed: {}", ec.message());
      net::steady_timer pause(state->workers[0]->io, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    auto executor = socket.get_executor();
    auto context = state->context;
    net::co_spawn(executor, serve_client(std::move(socket), context, index),
                  [context](std::exception_ptr error) {
                    if (!error) return;
                    try {
                      std::rethrow_exception(error);
                    } catch (std::exception const& e) {
                      context->log->error("a connection ended by an unexpected error: {}", e.what());
                    }
                  });
  }
}

// Gives the heap's free pages back to the system once every connection waits for its next request,
// at most once a second and only after exchanges ended since the last time. A burst of exchanges
// (500 at once, issue 13) leaves much of its memory free but scattered among the live connections'
// allocations, where glibc keeps it: RSS after the burst stayed at its peak (97 MB), and was 63 MB once
// trimmed. malloc_trim takes each arena's lock in turn, so it runs only when the workers are quiet.
net::awaitable<void> trim_when_quiet(std::shared_ptr<server::impl> state) {
  net::steady_timer timer(co_await net::this_coro::executor);
  state->trim_timer = &timer;
  auto const& context = *state->context;
  std::uint64_t trimmed_after = 0;  // exchanges written at the last trim
  while (!context.stopping) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(use_nothrow);
    auto const written = state->sink->stats().written;
    if (context.stopping || written == trimmed_after || context.open_connections > context.idle_connections)
      continue;
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
    trimmed_after = written;
  }
  state->trim_timer = nullptr;
}

// Stops accepting; lets work about to end end by itself (stop_grace); then ends every connection's
// operations: each one writes what it had in flight as an incomplete entry (SPEC §4) and closes. Waits
// for that, up to stop_deadline (a connection still running after it is lost), then for the workers.
void end_connections(std::shared_ptr<server::impl> const& state) {
  bool const started = state->workers[0]->thread.joinable();
  auto& context = *state->context;
  context.stopping = true;
  net::post(state->acceptor->get_executor(), [state] {
    beast::error_code ignored;
    state->acceptor->close(ignored);
  });
  auto const grace_end = std::chrono::steady_clock::now() + context.config.stop_grace;
  auto const deadline = std::chrono::steady_clock::now() + context.config.stop_deadline;
  while (started && context.open_connections > context.idle_connections &&
         std::chrono::steady_clock::now() < grace_end)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (std::size_t i = 0; i < state->workers.size(); ++i)
    net::post(state->workers[i]->io, [watch = context.watches[i].get()] { watch->stop_all(); });
  net::post(state->workers[0]->io, [state] {
    if (state->trim_timer) state->trim_timer->cancel();
  });
  if (state->metrics_listener) state->metrics_listener->stop();
  while (started && context.open_connections > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (auto& w : state->workers) w->io.stop();
  for (auto& w : state->workers)
    if (w->thread.joinable()) w->thread.join();
  // With the threads gone, close the listener and let the accept loop see it, releasing its frame.
  beast::error_code ignored;
  state->acceptor->close(ignored);
  for (auto& w : state->workers) {
    w->keep_running.reset();
    w->io.restart();
    w->io.poll();
  }
  for (auto& pool : context.pools) pool->clear();
}

}  // namespace

server::server(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

server::~server() {
  stop();
}

std::unique_ptr<server> server::create(proxy_config config, std::shared_ptr<spdlog::logger> log,
                                       server_hooks hooks) {
  auto authority = tls::authority::load_or_create(config.ca_dir);
  if (!authority) throw std::runtime_error(authority.error().message);
  auto certificates = tls::cert_cache::create(authority.value());
  if (!certificates) throw std::runtime_error(certificates.error().message);
  auto contexts = make_tls_contexts(config);

  auto state = std::make_shared<impl>();
  auto const worker_count =
      config.threads ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < worker_count; ++i) state->workers.push_back(std::make_unique<worker>());
  state->acceptor.emplace(state->workers[0]->io);
  bind_listener(*state->acceptor, config);
  config.listen_port = state->acceptor->local_endpoint().port();
  if (!config.metrics_host.empty()) open_metrics(*state, config, hooks, log);
  auto replay = load_replay(config, *log);
  state->otlp = attach_otlp(config, log, hooks);

  // The trace is opened last: a start-up that fails above leaves no empty trace file behind.
  state->sink = std::make_unique<capture::trace_sink>(capture::trace_sink_options{
      .har_path = config.har_path,
      .node = local_host_name(),
      .redact = config.redact,
      .queue_capacity = config.trace_queue_capacity,
      .on_written = std::move(hooks.on_exchange),
      .on_problem = std::move(hooks.on_problem),
      .diagnose = true,
      .on_findings = std::move(hooks.on_findings),
  });
  state->context = std::make_shared<proxy_context>(std::move(config), std::move(certificates.value()),
                                                   std::move(contexts.client), std::move(contexts.upstream),
                                                   state->sink.get(), std::move(log));
  auto& context = *state->context;
  context.replay = std::move(replay);
  context.on_progress = std::move(hooks.on_progress);
  if (!context.config.store_bodies_dir.empty())
    context.bodies = std::make_unique<capture::body_store>(context.config.store_bodies_dir);
  for (unsigned i = 0; i < worker_count; ++i) {
    context.pools.push_back(
        std::make_unique<upstream_pool>(context.config, state->workers[i]->io.get_executor()));
    context.watches.push_back(std::make_unique<client_watch>());
  }
  return std::unique_ptr<server>(new server(std::move(state)));
}

std::uint16_t server::port() const {
  return impl_->context->config.listen_port;
}

std::uint16_t server::metrics_port() const {
  return impl_->metrics_listener ? impl_->context->config.metrics_port : 0;
}

std::filesystem::path const& server::trace_path() const {
  return impl_->sink->path();
}

capture::trace_sink::counters server::trace_counters() const {
  return impl_->sink->stats();
}

std::optional<otlp_exporter::counters> server::otlp_counters() const {
  if (!impl_->otlp) return std::nullopt;
  return impl_->otlp->stats();
}

void server::start() {
  net::co_spawn(
      impl_->acceptor->get_executor(), accept_loop(impl_),
      [context = impl_->context](std::exception_ptr error) {
        if (error) context->log->error("the accept loop ended unexpectedly; no new connections are accepted");
      });
  if (impl_->otlp) impl_->otlp->start();
  for (std::size_t i = 0; i < impl_->workers.size(); ++i) {
    auto& io = impl_->workers[i]->io;
    net::co_spawn(io, impl_->context->watches[i]->run(), [context = impl_->context](std::exception_ptr error) {
      if (error) context->log->error("a worker's client watch ended unexpectedly");
    });
    impl_->workers[i]->thread = std::thread([&io] { io.run(); });
  }
  if (impl_->metrics_listener) impl_->metrics_listener->start();
  net::co_spawn(impl_->workers[0]->io, trim_when_quiet(impl_),
                [context = impl_->context](std::exception_ptr error) {
                  if (error) context->log->error("the memory trimmer ended unexpectedly");
                });
}

void server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  auto const began = std::chrono::steady_clock::now();
  end_connections(impl_);
  auto const connections_ended = std::chrono::steady_clock::now();
  impl_->sink->close();
  auto const closed = std::chrono::steady_clock::now();
  // SPEC §4 promises a stop in about 2 s: when it took longer, say which part did (issue 13).
  auto const& context = *impl_->context;
  if (closed - began > context.config.stop_deadline) {
    using seconds = std::chrono::duration<double>;
    context.log->warn(
        "stopping took {:.1f} s: {:.1f} s to end the connections, {:.1f} s to close the trace "
        "({} entries)",
        seconds(closed - began).count(), seconds(connections_ended - began).count(),
        seconds(closed - connections_ended).count(), impl_->sink->stats().written);
  }
  // Every span is queued once the trace is closed; sending them is bounded by the exporter's flush_timeout.
  if (impl_->otlp) impl_->otlp->stop();
}

}  // namespace regtrace::proxy
