#include "proxy/commands/cli.hpp"

#include "capture/text/ascii.hpp"

#include "proxy/commands/check.hpp"
#include "proxy/config/connect_target.hpp"
#include "proxy/config/host_rules.hpp"
#include "proxy/upstream/registry_client.hpp"
#include "proxy/commands/replay_send.hpp"
#include "proxy/config/upstream_proxy.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <limits>

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

constexpr char const* upstream_proxy_help =
    "Reach registries through this HTTP proxy, http://[USER:PASS@]HOST:PORT (a CONNECT tunnel per "
    "connection; HTTPS_PROXY and the like in regtrace's environment are never used)";

bool is_loopback(std::string const& host) {
  return host == "::1" || host.starts_with("127.") || host == "localhost";
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

// The options of the commands that talk to a registry themselves (replay send, check), as given.
struct registry_client_flags {
  std::string credentials;
  std::vector<std::string> resolve, upstream_ca;
  std::string upstream_proxy;
  bool insecure = false;

  void add_to(CLI::App& command) {
    command.add_option("--credentials", credentials, "USER:PASS for the registry's challenges");
    command.add_option("--resolve", resolve, "Connect to ADDRESS for HOST:PORT (curl's --resolve)");
    command.add_option("--upstream-ca", upstream_ca, "Extra CA certificates (PEM) to trust");
    command.add_option("--upstream-proxy", upstream_proxy, upstream_proxy_help);
    command.add_flag("--insecure,--insecure-upstream", insecure, "Do not verify the registry's certificate");
  }

  /// Validated; throws std::invalid_argument with a sentence.
  registry_client_options options() const {
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
};

struct proxy_options {
  std::string listen = "127.0.0.1:8888";
  std::string har;
  std::string out_dir;
  std::string ca_dir;
  std::vector<std::string> intercept, passthrough, upstream_ca, resolve;
  std::string upstream_proxy;
  bool insecure_upstream = false;
  std::string body_limit = "64k";
  bool no_redact = false;
  std::string keylog;
  bool allow_remote = false;
  std::string proxy_auth;
  unsigned threads = 0;
  int verbose = 0;
  bool quiet = false;
  std::string log_format = "text";
  std::string replay;
  bool replay_timing = false;
  std::string store_bodies;
};

proxy_config build_proxy_config(proxy_options const& o) {
  proxy_config config;
  auto listen = parse_connect_authority(o.listen);
  if (!listen && o.listen.find(':') == std::string::npos)
    listen = parse_connect_authority("127.0.0.1:" + o.listen);
  if (!listen && o.listen.ends_with(":0")) listen = authority{o.listen.substr(0, o.listen.size() - 2), 0};
  if (!listen)
    throw std::invalid_argument("--listen \"" + o.listen +
                                "\" is not HOST:PORT (for example 127.0.0.1:8888)");
  config.listen_host = listen->host == "localhost" ? "127.0.0.1" : listen->host;
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
  if (o.replay_timing && o.replay.empty()) throw std::invalid_argument("--replay-timing needs --replay TRACE.har");
  config.replay_har = o.replay;
  config.replay_timing = o.replay_timing;
  config.store_bodies_dir = o.store_bodies;
  return config;
}

}  // namespace

int run_command_line(int argc, char** argv) {
  CLI::App app{"regtrace: a debugging proxy for container-registry traffic"};
  app.set_version_flag("--version", std::string("regtrace ") + REGTRACE_VERSION);
  app.require_subcommand(1);

  proxy_options po;
  auto* proxy = app.add_subcommand("proxy", "Run the recording proxy (point dockerd's HTTPS_PROXY at it)");
  proxy->add_option("--listen", po.listen, "Address to listen on, HOST:PORT")->capture_default_str();
  proxy->add_option("--har", po.har, "Write the trace to this HAR file");
  proxy->add_option("--out", po.out_dir, "Write a timestamped trace into this folder");
  proxy->add_option("--ca-dir", po.ca_dir, "Folder of regtrace's CA (ca.crt, ca.key)")
      ->default_str(default_ca_dir().string());
  proxy->add_option("--intercept", po.intercept, "Only intercept hosts matching these globs")
      ->expected(1, -1);
  proxy->add_option("--passthrough", po.passthrough, "Tunnel hosts matching these globs untouched")
      ->expected(1, -1);
  proxy->add_option("--upstream-ca", po.upstream_ca, "Extra CA certificates (PEM) to trust upstream");
  proxy->add_flag("--insecure-upstream", po.insecure_upstream,
                  "Do not verify upstream certificates (marked on every entry)");
  proxy->add_option("--resolve", po.resolve, "Connect to ADDRESS for HOST:PORT (curl's --resolve)");
  proxy->add_option("--upstream-proxy", po.upstream_proxy, upstream_proxy_help);
  proxy->add_option("--body-limit", po.body_limit, "Keep text bodies up to this size")->capture_default_str();
  proxy->add_flag("--no-redact", po.no_redact, "Keep credentials and signatures in the trace");
  proxy->add_option("--keylog", po.keylog, "Append TLS keys to this file (NSS key log, for Wireshark)");
  proxy->add_flag("--allow-remote", po.allow_remote,
                  "Accept connections from other machines (needs --proxy-auth)");
  proxy->add_option("--proxy-auth", po.proxy_auth, "Require these proxy credentials, USER:PASS");
  proxy->add_option("--threads", po.threads, "Worker threads (default: one per core)");
  proxy->add_flag("-v,--verbose", po.verbose, "More detail on the console");
  proxy->add_flag("-q,--quiet", po.quiet, "No line per exchange; warnings and the summary only");
  proxy->add_option("--log-format", po.log_format, "Console output: text, or json (JSON Lines for log collectors)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  proxy->add_option("--replay", po.replay,
                    "Answer from this trace instead of the network (server replay); the new trace records it");
  proxy->add_flag("--replay-timing", po.replay_timing, "With --replay: wait as long as each recorded answer took");
  proxy->add_option("--store-bodies", po.store_bodies,
                    "Keep response bodies (layers, manifests) in this folder by SHA-256, for --replay");

  std::string ca_dir;
  auto* ca = app.add_subcommand("ca", "Manage regtrace's certificate authority");
  ca->require_subcommand(1);
  ca->add_option("--ca-dir", ca_dir, "Folder of the CA")->default_str(default_ca_dir().string());
  auto* ca_init = ca->add_subcommand("init", "Create the CA if it does not exist");
  auto* ca_show = ca->add_subcommand("show", "Show the CA's subject, expiry and fingerprint");
  auto* ca_path = ca->add_subcommand("path", "Print the path of the CA certificate");
  bool der = false;
  std::string export_output;
  auto* ca_export = ca->add_subcommand("export", "Print the CA certificate (PEM), or write it as DER");
  ca_export->add_flag("--der", der, "DER instead of PEM (needs -o)");
  ca_export->add_option("-o,--output", export_output, "Write to this file instead of standard output");
  std::string registry;
  std::string certs_dir = "/etc/docker/certs.d";
  bool dry_run = false;
  auto* ca_trust =
      ca->add_subcommand("docker-trust", "Install the CA as /etc/docker/certs.d/HOST[:PORT]/ca.crt");
  ca_trust->add_option("registry", registry, "Registry HOST[:PORT] as used in image names")->required();
  ca_trust->add_option("--certs-dir", certs_dir, "Docker's certs.d folder")->capture_default_str();
  ca_trust->add_flag("--dry-run", dry_run, "Print what would be done");
  for (auto* sub : {ca_init, ca_show, ca_path, ca_export, ca_trust})
    sub->add_option("--ca-dir", ca_dir, "Folder of the CA")->default_str(default_ca_dir().string());

  report_options ro;
  std::string report_output;
  auto* report = app.add_subcommand(
      "report", "Diagnose a HAR (regtrace's, a browser's, Fiddler's or mitmproxy's) and report");
  report->add_option("trace", ro.trace, "The HAR file to read")->required();
  report->add_option("--format", ro.format, "Report format")
      ->check(CLI::IsMember({"text", "markdown", "json", "html"}))
      ->capture_default_str();
  report->add_option("-o,--output", report_output,
                     "Write the report to this file instead of standard output");
  report
      ->add_option("--fail-on", ro.fail_on, "Exit with status 2 when a finding at or above this level exists")
      ->check(CLI::IsMember({"error", "critical"}));

  replay_send_options rs;
  std::string rs_output, rs_format = "text";
  auto* replay = app.add_subcommand("replay", "Replay a trace against the registry (client replay)");
  replay->require_subcommand(1);
  auto* replay_send = replay->add_subcommand(
      "send", "Re-send a trace's registry reads to the live registry and show what changed");
  replay_send->add_option("trace", rs.trace, "The HAR file to replay")->required();
  replay_send->add_option("--only", rs.only, "Only requests whose path or URL matches these globs")->expected(1, -1);
  registry_client_flags rs_client;
  rs_client.add_to(*replay_send);
  replay_send->add_option("-o,--output", rs_output, "Write today's answers as a HAR (redacted)");
  replay_send->add_option("--format", rs_format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  check_options co;
  std::string co_format = "text";
  auto* check = app.add_subcommand(
      "check", "Probe a registry as a client would (DNS, TCP, TLS, /v2/ challenge, token realm, manifest)");
  check->add_option("registry", co.registry, "HOST[:PORT][/REPOSITORY[:TAG|@DIGEST]]")->required();
  registry_client_flags co_client;
  co_client.add_to(*check);
  check->add_option("--har", co.har, "Also write the probe's exchanges as a HAR (redacted)");
  check->add_option("--format", co_format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    // CLI11 uses its own codes (105, 106...); regtrace promises 1 for every usage error (SPEC §2).
    return app.exit(e) == 0 ? 0 : 1;
  }

  try {
    std::filesystem::path ca_path_value = ca_dir.empty() ? default_ca_dir() : std::filesystem::path(ca_dir);
    if (proxy->parsed()) return run_proxy_command(build_proxy_config(po), po.quiet ? -1 : po.verbose);
    if (report->parsed()) {
      ro.output = report_output;
      return run_report_command(ro);
    }
    if (replay_send->parsed()) {
      rs.client = rs_client.options();
      rs.output_har = rs_output;
      rs.json = rs_format == "json";
      return run_replay_send(rs);
    }
    if (check->parsed()) {
      co.client = co_client.options();
      co.json = co_format == "json";
      return run_check_command(co);
    }
    if (ca_init->parsed()) return run_ca_init(ca_path_value);
    if (ca_show->parsed()) return run_ca_show(ca_path_value);
    if (ca_path->parsed()) return run_ca_path(ca_path_value);
    if (ca_export->parsed()) return run_ca_export(ca_path_value, der, export_output);
    if (ca_trust->parsed()) return run_ca_docker_trust(ca_path_value, registry, certs_dir, dry_run);
  } catch (std::exception const& e) {
    std::cerr << "regtrace: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace regtrace::proxy
