// The option values of the subcommands to configuration: defaults, sizes and the checks that turn a
// bad command line into a sentence (SPEC §2).
#include "proxy/commands/cli_options.hpp"
#include "proxy/commands/cli.hpp"

#include "capture/text/ascii.hpp"
#include "proxy/config/connect_target.hpp"
#include "proxy/config/host_rules.hpp"
#include "proxy/config/upstream_proxy.hpp"
#include "proxy/upstream/otlp_exporter.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <optional>
#include <stdexcept>

namespace regtrace::proxy {

std::filesystem::path default_ca_dir() {
  if (char const* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "regtrace";
  if (char const* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".local" / "share" / "regtrace";
  return std::filesystem::current_path() / ".regtrace";
}

std::filesystem::path default_har_path(std::filesystem::path const& dir) {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char name[64];
  std::strftime(name, sizeof name, "regtrace-%Y%m%d-%H%M%S.har", &local);
  return (dir.empty() ? std::filesystem::current_path() : dir) / name;
}

std::size_t parse_byte_size(std::string const& text) {
  auto const refuse = [&] {
    return std::invalid_argument("\"" + text + "\" is not a size; use bytes or a suffix such as 64k, 1m, 2g");
  };
  // stoull would accept "-1" as 2^64-1: only digits may start a size.
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front()))) throw refuse();
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (std::exception const&) {
    throw refuse();
  }
  auto const suffix = capture::to_lower(text.substr(used));
  int shift = -1;
  if (suffix == "" || suffix == "b") shift = 0;
  if (suffix == "k" || suffix == "kb" || suffix == "kib") shift = 10;
  if (suffix == "m" || suffix == "mb" || suffix == "mib") shift = 20;
  if (suffix == "g" || suffix == "gb" || suffix == "gib") shift = 30;
  if (shift < 0 || value > (std::numeric_limits<std::size_t>::max() >> shift)) throw refuse();
  return static_cast<std::size_t>(value) << shift;
}

namespace {

bool is_loopback(std::string const& host) {
  return host == "::1" || host.starts_with("127.") || host == "localhost";
}

// A listener's HOST:PORT (--listen, --metrics): a bare port is on 127.0.0.1, port 0 is any free port
// (tests), localhost is 127.0.0.1. nullopt when malformed.
std::optional<authority> parse_listen_address(std::string const& text) {
  auto const full = text.find(':') == std::string::npos ? "127.0.0.1:" + text : text;
  auto listen = parse_connect_authority(full);
  if (!listen && full.ends_with(":0") && full.size() > 2)
    listen = authority{full.substr(0, full.size() - 2), 0};
  if (listen && listen->host == "localhost") listen->host = "127.0.0.1";
  return listen;
}

// --metrics HOST:PORT into the configuration; loopback only unless --allow-remote, as --listen.
void set_metrics_address(proxy_config& config, proxy_options const& o) {
  if (o.metrics.empty()) return;
  auto const metrics = parse_listen_address(o.metrics);
  if (!metrics)
    throw std::invalid_argument("--metrics \"" + o.metrics +
                                "\" is not HOST:PORT (for example 127.0.0.1:9888)");
  if (!is_loopback(metrics->host) && !o.allow_remote)
    throw std::invalid_argument("--metrics " + o.metrics +
                                " would let other machines read the metrics; add --allow-remote with "
                                "--proxy-auth USER:PASS, or listen on 127.0.0.1");
  config.metrics_host = metrics->host;
  config.metrics_port = metrics->port;
}

std::vector<resolve_rule> parse_resolve_rules(std::vector<std::string> const& rules) {
  std::vector<resolve_rule> parsed;
  for (auto const& rule : rules) {
    auto one = parse_resolve_rule(rule);
    if (!one)
      throw std::invalid_argument("--resolve \"" + rule +
                                  "\" is not HOST:PORT:ADDRESS (for example registry.test:5443:127.0.0.1)");
    parsed.push_back(*one);
  }
  return parsed;
}

}  // namespace

registry_client_options registry_client_flags::options() const {
  if (!credentials.empty() && credentials.find(':') == std::string::npos)
    throw std::invalid_argument("--credentials must be USER:PASS");
  registry_client_options out;
  out.credentials = credentials;
  out.resolve_rules = parse_resolve_rules(resolve);
  out.insecure = insecure;
  for (auto const& file : upstream_ca) out.upstream_ca_files.emplace_back(file);
  if (!upstream_proxy.empty()) out.upstream_proxy = parse_upstream_proxy(upstream_proxy);
  return out;
}

proxy_config build_proxy_config(proxy_options const& o) {
  proxy_config config;
  auto const listen = parse_listen_address(o.listen);
  if (!listen)
    throw std::invalid_argument("--listen \"" + o.listen +
                                "\" is not HOST:PORT (for example 127.0.0.1:8888)");
  config.listen_host = listen->host;
  config.listen_port = listen->port;
  if (!is_loopback(config.listen_host) && !o.allow_remote)
    throw std::invalid_argument(
        "--listen " + o.listen +
        " would accept connections from other machines; add --allow-remote with --proxy-auth USER:PASS");
  if (o.allow_remote && o.proxy_auth.empty())
    throw std::invalid_argument(
        "--allow-remote needs --proxy-auth USER:PASS, so that only your clients use the proxy");
  if (!o.proxy_auth.empty() && o.proxy_auth.find(':') == std::string::npos)
    throw std::invalid_argument("--proxy-auth must be USER:PASS");
  config.allow_remote = o.allow_remote;
  config.proxy_auth = o.proxy_auth;
  set_metrics_address(config, o);

  if (!o.har.empty() && !o.out_dir.empty())
    throw std::invalid_argument("use either --har FILE or --out DIR, not both");
  if (!o.out_dir.empty()) std::filesystem::create_directories(o.out_dir);
  config.har_path = o.har.empty() ? default_har_path(o.out_dir) : std::filesystem::path(o.har);
  config.ca_dir = o.ca_dir.empty() ? default_ca_dir() : std::filesystem::path(o.ca_dir);
  config.intercept_globs = o.intercept;
  config.passthrough_globs = o.passthrough;
  for (auto const& file : o.upstream_ca) config.upstream_ca_files.emplace_back(file);
  config.insecure_upstream = o.insecure_upstream;
  config.resolve_rules = parse_resolve_rules(o.resolve);
  if (!o.upstream_proxy.empty()) config.upstream_proxy = parse_upstream_proxy(o.upstream_proxy);
  config.body_limit_bytes = parse_byte_size(o.body_limit);
  config.redact = !o.no_redact;
  config.keylog_file = o.keylog;
  config.threads = o.threads;
  config.console_exchanges = !o.quiet;
  config.console_json = o.log_format == "json";
  if (o.replay_timing && o.replay.empty())
    throw std::invalid_argument("--replay-timing needs --replay TRACE.har");
  config.replay_har = o.replay;
  config.replay_timing = o.replay_timing;
  config.store_bodies_dir = o.store_bodies;
  if (!o.otlp_endpoint.empty()) {
    parse_otlp_endpoint(o.otlp_endpoint);  // refuses a bad URL here, with its sentence
    config.otlp_endpoint = o.otlp_endpoint;
  }
  return config;
}

}  // namespace regtrace::proxy
