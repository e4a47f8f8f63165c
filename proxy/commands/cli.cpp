// The command line (SPEC §2): every subcommand's options as CLI11 flags, and the dispatch to the
// command that was given. What the values mean and which combinations hold is cli_options.cpp's.
#include "proxy/commands/cli.hpp"
#include "proxy/commands/runtime_setup.hpp"

#include "capture/text/display.hpp"
#include "proxy/commands/check.hpp"
#include "proxy/commands/cli_options.hpp"
#include "proxy/commands/replay_send.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace regtrace::proxy {
namespace {

constexpr char const* upstream_proxy_help =
    "Reach registries through this HTTP proxy, http://[USER:PASS@]HOST:PORT (a CONNECT tunnel per "
    "connection; HTTPS_PROXY and the like in regtrace's environment are never used)";

void add_registry_client_options(CLI::App& command, registry_client_flags& flags) {
  command.add_option("--credentials", flags.credentials, "USER:PASS for the registry's challenges");
  command.add_option("--resolve", flags.resolve, "Connect to ADDRESS for HOST:PORT (curl's --resolve)");
  command.add_option("--upstream-ca", flags.upstream_ca, "Extra CA certificates (PEM) to trust");
  command.add_option("--upstream-proxy", flags.upstream_proxy, upstream_proxy_help);
  command.add_flag("--insecure,--insecure-upstream", flags.insecure,
                   "Do not verify the registry's certificate");
}

// --format of the commands that print either a text or a JSON report (replay send, check).
void add_text_or_json_option(CLI::App& command, std::string& format) {
  command.add_option("--format", format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

// Each subcommand below is its options as given, the CLI11 command they belong to, and run(), which
// validates them and starts the command. CLI11 binds options to these members by address, so the
// objects stay where run_command_line made them.

void add_proxy_options(CLI::App& proxy, proxy_options& o) {
  proxy.add_option("--listen", o.listen, "Address to listen on, HOST:PORT")->capture_default_str();
  proxy.add_option("--har", o.har, "Write the trace to this HAR file");
  proxy.add_option("--out", o.out_dir, "Write a timestamped trace into this folder");
  proxy.add_option("--ca-dir", o.ca_dir, "Folder of regtrace's CA (ca.crt, ca.key)")
      ->default_str(default_ca_dir().string());
  proxy.add_option("--intercept", o.intercept, "Only intercept hosts matching these globs")->expected(1, -1);
  proxy.add_option("--passthrough", o.passthrough, "Tunnel hosts matching these globs untouched")
      ->expected(1, -1);
  proxy.add_option("--upstream-ca", o.upstream_ca, "Extra CA certificates (PEM) to trust upstream");
  proxy.add_flag("--insecure-upstream", o.insecure_upstream,
                 "Do not verify upstream certificates (marked on every entry)");
  proxy.add_option("--resolve", o.resolve, "Connect to ADDRESS for HOST:PORT (curl's --resolve)");
  proxy.add_option("--upstream-proxy", o.upstream_proxy, upstream_proxy_help);
  proxy.add_option("--body-limit", o.body_limit, "Keep text bodies up to this size")->capture_default_str();
  proxy.add_flag("--no-redact", o.no_redact, "Keep credentials and signatures in the trace");
  proxy.add_option("--keylog", o.keylog, "Append TLS keys to this file (NSS key log, for Wireshark)");
  proxy.add_flag("--allow-remote", o.allow_remote,
                 "Accept connections from other machines (needs --proxy-auth)");
  proxy.add_option("--proxy-auth", o.proxy_auth, "Require these proxy credentials, USER:PASS");
  proxy.add_option("--metrics", o.metrics,
                   "Serve Prometheus metrics at http://HOST:PORT/metrics (loopback unless --allow-remote)");
  proxy.add_option("--threads", o.threads, "Worker threads (default: one per core)");
  proxy.add_flag("-v,--verbose", o.verbose, "More detail on the console");
  proxy.add_flag("-q,--quiet", o.quiet, "No line per exchange; warnings and the summary only");
  proxy
      .add_option("--log-format", o.log_format,
                  "Console output: text, or json (JSON Lines for log collectors)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  proxy.add_option("--replay", o.replay,
                   "Answer from this trace instead of the network (server replay); the new trace records it");
  proxy.add_flag("--replay-timing", o.replay_timing,
                 "With --replay: wait as long as each recorded answer took");
  proxy.add_option("--store-bodies", o.store_bodies,
                   "Keep response bodies (layers, manifests) in this folder by SHA-256, for --replay");
  proxy.add_option("--setup", o.setup,
                   "Whose set-up to print at start: auto (the runtimes running here), all, none, or a comma "
                   "list of docker, containerd, podman")
      ->capture_default_str();
  proxy.add_option("--otlp-endpoint", o.otlp_endpoint,
                   "Export a span per exchange to this OpenTelemetry Collector (OTLP/HTTP), "
                   "http://HOST:PORT[/PATH], e.g. http://127.0.0.1:4318");
}

struct proxy_command_line {
  proxy_options options;
  CLI::App* command = nullptr;

  void add_to(CLI::App& app) {
    command = app.add_subcommand("proxy", "Run the recording proxy (point dockerd's HTTPS_PROXY at it)");
    add_proxy_options(*command, options);
  }
  int run() const {
    if (!parse_setup_choice(options.setup, {}))
      throw std::invalid_argument("--setup takes auto, all, none, or a comma list of docker, containerd and podman (got \"" +
                                  options.setup + "\")");
    return run_proxy_command(build_proxy_config(options), options.quiet ? -1 : options.verbose, options.setup);
  }
};

struct ca_command_line {
  std::string ca_dir;
  bool der = false;
  std::string export_output;
  std::string registry;
  std::string certs_dir = "/etc/docker/certs.d";
  bool dry_run = false;
  CLI::App* command = nullptr;
  CLI::App* init = nullptr;
  CLI::App* show = nullptr;
  CLI::App* path = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* docker_trust = nullptr;
  CLI::App* trust = nullptr;
  CLI::App* untrust = nullptr;
  std::string runtime;
  std::vector<std::string> registries;
  std::string trust_dir;
  std::string containerd_config = "/etc/containerd/config.toml";

  // `trust` and `untrust` take the same options.
  CLI::App* add_trust_action(char const* name, char const* description) {
    auto* action = command->add_subcommand(name, description);
    action->add_option("--for", runtime, "docker, containerd, podman or system")
        ->required()
        ->check(CLI::IsMember({"docker", "containerd", "podman", "system"}, CLI::ignore_case));
    action->add_option("registries", registries, "Registries HOST[:PORT] as in image names (none for system)");
    action->add_option("--dir", trust_dir,
                       "The runtime's folder instead of its default (/etc/docker/certs.d, "
                       "/etc/containerd/certs.d, /etc/containers/certs.d, /usr/local/share/ca-certificates)");
    action->add_option("--containerd-config", containerd_config, "containerd's config, checked for config_path")
        ->capture_default_str();
    action->add_flag("--dry-run", dry_run, "Print what would be written or removed, change nothing");
    return action;
  }

  void add_to(CLI::App& app) {
    command = app.add_subcommand("ca", "Manage regtrace's certificate authority");
    command->require_subcommand(1);
    command->add_option("--ca-dir", ca_dir, "Folder of the CA")->default_str(default_ca_dir().string());
    init = command->add_subcommand("init", "Create the CA if it does not exist");
    show = command->add_subcommand("show", "Show the CA's subject, expiry and fingerprint");
    path = command->add_subcommand("path", "Print the path of the CA certificate");
    export_ = command->add_subcommand("export", "Print the CA certificate (PEM), or write it as DER");
    export_->add_flag("--der", der, "DER instead of PEM (needs -o)");
    export_->add_option("-o,--output", export_output, "Write to this file instead of standard output");
    docker_trust =
        command->add_subcommand("docker-trust", "Install the CA as /etc/docker/certs.d/HOST[:PORT]/ca.crt");
    docker_trust->add_option("registry", registry, "Registry HOST[:PORT] as used in image names")->required();
    docker_trust->add_option("--certs-dir", certs_dir, "Docker's certs.d folder")->capture_default_str();
    docker_trust->add_flag("--dry-run", dry_run, "Print what would be done");
    trust = add_trust_action("trust", "Make a runtime trust the CA for registries (files marked as regtrace's)");
    untrust = add_trust_action("untrust", "Remove what `ca trust` wrote (only files regtrace wrote)");
    // Accepted before or after the action: `regtrace ca --ca-dir D show` and `regtrace ca show --ca-dir D`.
    for (auto* action : {init, show, path, export_, docker_trust, trust, untrust})
      action->add_option("--ca-dir", ca_dir, "Folder of the CA")->default_str(default_ca_dir().string());
  }
  int run() const {
    auto const dir = ca_dir.empty() ? default_ca_dir() : std::filesystem::path(ca_dir);
    if (init->parsed()) return run_ca_init(dir);
    if (show->parsed()) return run_ca_show(dir);
    if (path->parsed()) return run_ca_path(dir);
    if (export_->parsed()) return run_ca_export(dir, der, export_output);
    if (docker_trust->parsed()) return run_ca_docker_trust(dir, registry, certs_dir, dry_run);
    if (trust->parsed() || untrust->parsed()) {
      ca_trust_options const o{dir, *trust_runtime_from_string(runtime), registries, trust_dir, containerd_config, dry_run};
      return trust->parsed() ? run_ca_trust(o) : run_ca_untrust(o);
    }
    return 0;
  }
};

struct report_command_line {
  report_options options;
  std::string output;
  CLI::App* command = nullptr;

  void add_to(CLI::App& app) {
    command = app.add_subcommand(
        "report", "Diagnose a HAR (regtrace's, a browser's, Fiddler's or mitmproxy's) and report");
    command
        ->add_option("trace", options.traces,
                     "The HAR file to read; several files or a folder (its *.har files) give one fleet report")
        ->required();
    command->add_option("--format", options.format, "Report format")
        ->check(CLI::IsMember({"text", "markdown", "json", "html"}))
        ->capture_default_str();
    command->add_option("-o,--output", output, "Write the report to this file instead of standard output");
    command
        ->add_option("--fail-on", options.fail_on,
                     "Exit with status 2 when a finding at or above this level exists")
        ->check(CLI::IsMember({"error", "critical"}));
  }
  int run() const {
    auto given = options;
    given.output = output;
    return run_report_command(given);
  }
};

struct replay_send_command_line {
  replay_send_options options;
  registry_client_flags client;
  std::string output, format = "text";
  CLI::App* command = nullptr;

  void add_to(CLI::App& app) {
    auto* replay = app.add_subcommand("replay", "Replay a trace against the registry (client replay)");
    replay->require_subcommand(1);
    command = replay->add_subcommand(
        "send", "Re-send a trace's registry reads to the live registry and show what changed");
    command->add_option("trace", options.trace, "The HAR file to replay")->required();
    command->add_option("--only", options.only, "Only requests whose path or URL matches these globs")
        ->expected(1, -1);
    add_registry_client_options(*command, client);
    command->add_option("-o,--output", output, "Write today's answers as a HAR (redacted)");
    add_text_or_json_option(*command, format);
  }
  int run() const {
    auto given = options;
    given.client = client.options();
    given.json = format == "json";
    given.output_har = output;
    return run_replay_send(given);
  }
};

struct check_command_line {
  check_options options;
  registry_client_flags client;
  std::string format = "text";
  CLI::App* command = nullptr;

  void add_to(CLI::App& app) {
    command = app.add_subcommand(
        "check", "Probe a registry as a client would (DNS, TCP, TLS, /v2/ challenge, token realm, manifest)");
    command->add_option("registry", options.registry, "HOST[:PORT][/REPOSITORY[:TAG|@DIGEST]]")->required();
    add_registry_client_options(*command, client);
    command->add_option("--har", options.har, "Also write the probe's exchanges as a HAR (redacted)");
    add_text_or_json_option(*command, format);
  }
  int run() const {
    auto given = options;
    given.client = client.options();
    given.json = format == "json";
    return run_check_command(given);
  }
};

// Every subcommand, added to the app in the order `regtrace --help` lists them.
struct command_line {
  proxy_command_line proxy;
  ca_command_line ca;
  report_command_line report;
  replay_send_command_line replay_send;
  check_command_line check;

  void add_to(CLI::App& app) {
    proxy.add_to(app);
    ca.add_to(app);
    report.add_to(app);
    replay_send.add_to(app);
    check.add_to(app);
  }
  /// The parsed subcommand's exit code; throws a sentence when its options do not hold together.
  int run() const {
    if (proxy.command->parsed()) return proxy.run();
    if (report.command->parsed()) return report.run();
    if (replay_send.command->parsed()) return replay_send.run();
    if (check.command->parsed()) return check.run();
    if (ca.command->parsed()) return ca.run();
    return 0;
  }
};

}  // namespace

int run_command_line(int argc, char** argv) {
  CLI::App app{"regtrace: a debugging proxy for container-registry traffic"};
  app.set_version_flag("--version", std::string("regtrace ") + REGTRACE_VERSION);
  app.require_subcommand(1);
  command_line commands;
  commands.add_to(app);

  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    // CLI11 uses its own codes (105, 106...); regtrace promises 1 for every usage error (SPEC §2).
    return app.exit(e) == 0 ? 0 : 1;
  }

  try {
    return commands.run();
  } catch (std::exception const& e) {
    // The sentence may quote a trace or a peer (SPEC §8: nothing raw to a terminal).
    std::cerr << "regtrace: " << capture::printable(e.what()) << "\n";
    return 1;
  }
}

}  // namespace regtrace::proxy
