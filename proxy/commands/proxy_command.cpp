// `regtrace proxy`: start-up banner with the trust and proxy instructions (SPEC §2), the live
// console, and the summary on SIGINT/SIGTERM.
#include "proxy/commands/cli.hpp"
#include "proxy/commands/console.hpp"
#include "proxy/commands/runtime_setup.hpp"
#include "proxy/session/server.hpp"
#include "proxy/config/upstream_proxy.hpp"
#include "tls/authority.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <mutex>

namespace regtrace::proxy {
namespace {

// The upstream proxy as the console shows it: its URL and user name, never the password.
std::string upstream_proxy_line(chained_proxy const& proxy) {
  if (!proxy.enabled()) return {};
  std::string line = "Upstream proxy: " + display_url(proxy);
  if (!proxy.credentials.empty())
    line += " (user " + proxy.credentials.substr(0, proxy.credentials.find(':')) + ")";
  return line + ", a CONNECT tunnel for every upstream connection\n";
}

// Where Prometheus scrapes (--metrics), with the port actually bound; "" when not served.
std::string metrics_url(proxy_config const& config, server const& proxy) {
  if (!proxy.metrics_port()) return {};
  bool const ipv6 = config.metrics_host.find(':') != std::string::npos;
  auto const host = ipv6 ? "[" + config.metrics_host + "]" : config.metrics_host;
  return "http://" + host + ":" + std::to_string(proxy.metrics_port()) + "/metrics";
}

// --otlp-endpoint (SPEC §9): where the spans go.
std::string otlp_line(proxy_config const& config) {
  if (config.otlp_endpoint.empty()) return {};
  return "OTLP: exporting spans to " + display_url(parse_otlp_endpoint(config.otlp_endpoint)) + "\n";
}

void print_banner(proxy_config const& config, std::uint16_t port, std::filesystem::path const& ca_path,
                  bool ca_created, std::filesystem::path const& trace, runtime_set runtimes,
                  std::string const& metrics) {
  std::string proxy_url = "http://" + config.listen_host + ":" + std::to_string(port);
  std::string ca = ca_path.string();
  std::printf(
      "regtrace %s: proxy listening on %s\n"
      "CA certificate: %s%s\n"
      "Trace:          %s\n"
      "%s%s%s"
      "\n%s"
      "Ctrl-C stops regtrace; the trace file is complete after every exchange.\n\n",
      REGTRACE_VERSION, proxy_url.c_str(), ca.c_str(), ca_created ? " (created now)" : "",
      trace.string().c_str(), metrics.empty() ? "" : ("Metrics:        " + metrics + "\n").c_str(),
      upstream_proxy_line(config.upstream_proxy).c_str(), otlp_line(config).c_str(),
      setup_text(runtimes, proxy_url, ca).c_str());
  std::fflush(stdout);
}

// "%*" in a pattern: the message as a JSON string, so --log-format json log lines stay valid JSON
// whatever the message holds.
class json_message_flag : public spdlog::custom_flag_formatter {
 public:
  void format(spdlog::details::log_msg const& message, std::tm const&, spdlog::memory_buf_t& out) override {
    auto const text = nlohmann::json(std::string(message.payload.data(), message.payload.size()))
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

// "%*" in the text pattern: the message made terminal-safe, since warnings quote the trace being replayed
// and its entries' headers (SPEC §8).
class printable_message_flag : public spdlog::custom_flag_formatter {
 public:
  void format(spdlog::details::log_msg const& message, std::tm const&, spdlog::memory_buf_t& out) override {
    auto const text = capture::printable({message.payload.data(), message.payload.size()});
    out.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<printable_message_flag>();
  }
};

std::shared_ptr<spdlog::logger> make_logger(bool json) {
  auto log = spdlog::stderr_color_mt("regtrace");
  if (json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<json_message_flag>('*').set_pattern(
        R"({"event":"log","time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":%*})");
    log->set_formatter(std::move(formatter));
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<printable_message_flag>('*').set_pattern("%H:%M:%S %^%l%$ %*");
    log->set_formatter(std::move(formatter));
  }
  return log;
}

void print_line(std::string const& line) {
  std::printf("%s\n", line.c_str());
}

// SIGINT/SIGTERM are blocked in every thread and taken synchronously by sigwait, so no handler runs
// inside the I/O threads and shutdown is one ordinary code path. Call before any thread starts.
sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

// The live console: a line per exchange (or only the failed ones), each finding after its exchange,
// progress of long bodies. totals is written on the trace writer's thread and read after stop().
server_hooks console_hooks(console_totals& totals, proxy_config const& config,
                           std::shared_ptr<spdlog::logger> log) {
  bool const json = config.console_json;
  bool const print_exchanges = config.console_exchanges;
  auto const exchange_line = [json](capture::exchange const& x) {
    return json ? json_exchange_event(x) : format_exchange_line(x);
  };
  server_hooks hooks{
      .on_exchange =
          [&totals, print_exchanges, exchange_line](capture::exchange const& x) {
            totals.add(x);
            if (print_exchanges || x.failure) print_line(exchange_line(x));
            std::fflush(stdout);
          },
      .on_problem = [log](std::string const& problem) { log->error("{}", problem); },
      .on_findings =
          [&totals, print_exchanges, exchange_line, json](capture::exchange const& x,
                                                          std::vector<capture::rules::finding> const& found) {
            // A cause prints once (issue 12); when it shows again only its count in the summary grows.
            std::vector<capture::rules::finding const*> fresh;
            for (auto const& f : found)
              if (totals.add(f)) fresh.push_back(&f);
            if (fresh.empty()) return;
            // The exchange line first (even when exchanges are not printed), so a finding has context.
            if (!print_exchanges && !x.failure) print_line(exchange_line(x));
            for (auto const* f : fresh) print_line(json ? json_finding_event(*f) : format_finding_line(*f));
          },
      .on_progress = {},
  };
  // Progress lines come from the worker threads; printf writes each line whole.
  if (print_exchanges)
    hooks.on_progress = [json](capture::exchange const& x, transfer_progress const& p) {
      print_line(json ? json_progress_event(x, p.bytes, p.total, p.seconds)
                      : format_progress_line(x, p.bytes, p.total, p.seconds));
      std::fflush(stdout);
    };
  return hooks;
}

// Where the proxy listens and what it records: the JSON event, the banner, or one line with --quiet.
void print_start(proxy_config const& config, server const& proxy, std::filesystem::path const& ca_path,
                 bool ca_created, int verbosity, runtime_set runtimes) {
  bool const json = config.console_json;
  auto const metrics = metrics_url(config, proxy);
  if (json)
    print_line(json_listening_event("http://" + config.listen_host + ":" + std::to_string(proxy.port()),
                                    ca_path, proxy.trace_path(), config.replay_har,
                                    display_url(config.upstream_proxy), metrics));
  else if (verbosity >= 0)
    print_banner(config, proxy.port(), ca_path, ca_created, proxy.trace_path(), runtimes, metrics);
  else
    std::printf("regtrace: listening on %s:%u, trace %s%s\n%s%s", config.listen_host.c_str(), proxy.port(),
                proxy.trace_path().string().c_str(), metrics.empty() ? "" : (", metrics " + metrics).c_str(),
                upstream_proxy_line(config.upstream_proxy).c_str(), otlp_line(config).c_str());
  if (!config.replay_har.empty() && !json)
    std::printf("Replaying %s: intercepted requests are answered from it, never from the network%s.\n\n",
                config.replay_har.string().c_str(), config.replay_timing ? ", with the recorded timing" : "");
  std::fflush(stdout);
}

// "OTLP: 120 spans exported, 0 dropped", and why spans were dropped when some were.
std::string format_otlp_summary(otlp_exporter::counters const& c) {
  auto line = "OTLP: " + std::to_string(c.exported) + " spans exported, " + std::to_string(c.dropped) + " dropped";
  if (!c.dropped) return line;
  return line + " (" + std::to_string(c.dropped_queue_full) + " queue full, " + std::to_string(c.dropped_refused) +
         " refused or not delivered, " + std::to_string(c.dropped_at_stop) + " unsent at stop; " +
         std::to_string(c.failed_requests) + " of " + std::to_string(c.requests) + " requests failed)";
}

// After stop(): the totals, and how many exchanges the trace could not keep.
void print_summary(console_totals const& totals, server const& proxy, bool json) {
  auto const counters = proxy.trace_counters();
  if (json) {
    print_line(json_summary_event(totals, proxy.trace_path(), counters.written,
                                  counters.dropped + counters.write_failed));
    std::fflush(stdout);
    return;
  }
  std::printf("\n%s\n", format_summary(totals).c_str());
  for (auto const& line : format_seen_findings(totals)) print_line(line);
  // The trace writer batches for at most 50 ms (the live rules' pace), then writes: that, and what is in flight, is
  // what a kill -9 can lose (README "The trace").
  std::printf("Trace: %s (%llu entries; each reaches the file within 100 ms of its end)\n",
              proxy.trace_path().string().c_str(), static_cast<unsigned long long>(counters.written));
  if (counters.dropped || counters.write_failed)
    std::printf("Warning: %llu exchanges could not be recorded; the trace says so in log._regtrace.\n",
                static_cast<unsigned long long>(counters.dropped + counters.write_failed));
  if (auto const spans = proxy.otlp_counters())
    print_line(format_otlp_summary(*spans));
  std::fflush(stdout);
}

}  // namespace

int run_proxy_command(proxy_config config, int verbosity, std::string const& setup) {
  auto log = make_logger(config.console_json);
  log->set_level(verbosity < 0   ? spdlog::level::warn
                 : verbosity > 0 ? spdlog::level::debug
                                 : spdlog::level::info);

  // The CA is created here rather than inside the server so the banner can say it was just made.
  bool ca_created = false;
  auto authority = tls::authority::load_or_create(config.ca_dir, &ca_created);
  if (!authority) throw std::runtime_error(authority.error().message);

  auto const stop_signals = block_stop_signals();
  console_totals totals;
  auto proxy = server::create(config, log, console_hooks(totals, config, log));
  // Looked for only when the banner is printed: a quiet or JSON console never shows the set-up.
  runtime_set runtimes;
  if (verbosity >= 0 && !config.console_json) runtimes = *parse_setup_choice(setup, find_running_runtimes());
  print_start(config, *proxy, authority.value()->certificate_path(), ca_created, verbosity, runtimes);
  proxy->start();

  int received = 0;
  sigwait(&stop_signals, &received);
  proxy->stop();
  print_summary(totals, *proxy, config.console_json);
  if (auto const spans = proxy->otlp_counters(); spans && config.console_json) log->info("{}", format_otlp_summary(*spans));
  return 0;
}

}  // namespace regtrace::proxy
