// `regtrace check REGISTRY` (SPEC §1, §2): the probe itself. Requests go out one connection each,
// as dockerd's do; the findings come from the same rules as a trace's, over the probe's redacted
// exchanges, and are shown with the report's own text or JSON.
#include "capture/text/display.hpp"
#include "capture/har/har_writer.hpp"
#include "capture/redaction/redaction.hpp"
#include "capture/rules/rules.hpp"
#include "capture/report/render.hpp"
#include "proxy/commands/check.hpp"
#include "proxy/commands/console.hpp"
#include "proxy/upstream/registry_client.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace regtrace::proxy {
namespace {

void write_har(std::filesystem::path const& path, std::vector<capture::exchange> const& redacted,
               std::vector<capture::rules::finding> const& findings) {
  capture::har_file out(path);
  for (auto const& x : redacted)
    if (!out.append(capture::to_har_entry(x))) throw std::runtime_error(out.last_error());
  auto listed = nlohmann::json::array();
  for (auto const& f : findings) listed.push_back(capture::rules::to_json(f));
  if (!out.set_log_extras({{"_findings", std::move(listed)}})) throw std::runtime_error(out.last_error());
}

}  // namespace

check_result probe_registry(check_options const& options) {
  auto const target = parse_check_target(options.registry);
  if (!target)
    throw std::invalid_argument("\"" + options.registry +
                                "\" is not a registry: give HOST[:PORT][/REPOSITORY[:TAG|@DIGEST]], "
                                "for example registry.example.com or registry.example.com/team/app:1.0");

  auto client_options = options.client;
  client_options.user_agent = "regtrace-check/" REGTRACE_VERSION;
  registry_client client(std::move(client_options));
  auto version_check = api_version_request(*target);
  client.send(version_check, true);
  // A registry that cannot be reached has no manifest to ask for, and after refused credentials
  // (docker login fails there) the manifest would only be refused again.
  bool const reached = version_check.status != 0;
  bool const login_refused =
      !options.client.credentials.empty() && (version_check.status == 401 || version_check.status == 403);
  if (!target->repository.empty() && reached && !login_refused) {
    auto manifest = manifest_request(*target);
    client.send(manifest, true);
  }

  check_result result;
  auto const& transcript = client.transcript();
  result.probe = describe_probe(transcript);  // reads token claims: before redaction
  result.exchanges = transcript;
  for (auto& x : result.exchanges) capture::redact(x);
  result.findings = capture::rules::diagnose(result.exchanges);
  result.passed = check_passed(transcript, result.findings);
  return result;
}

int run_check_command(check_options const& options) {
  auto result = probe_registry(options);
  if (!options.har.empty()) write_har(options.har, result.exchanges, result.findings);

  capture::har_read_result read;
  read.exchanges = std::move(result.exchanges);
  read.creator = "regtrace check";
  auto const report = capture::report::make_report(std::move(read), "check " + options.registry,
                                                   std::move(result.findings));
  auto const& probe = result.probe;
  bool const passed = result.passed;

  if (options.json) {
    auto document = capture::report::to_json(report);
    document["check"] = {{"schema", "regtrace.check/1"},
                         {"registry", options.registry},
                         {"passed", passed},
                         {"probe", probe}};
    std::printf("%s\n", document.dump(2).c_str());
  } else {
    std::printf("regtrace check %s\n\n", capture::printable(options.registry).c_str());
    for (auto const& line : probe) std::printf("  %s\n", capture::printable(line).c_str());
    std::printf("\n%s: %s\n\n", passed ? "PASSED" : "FAILED",
                passed ? "the registry answers a client as it should" : "see the findings below");
    auto const text = capture::report::render_text(report, stdout_wants_colour());
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  std::fflush(stdout);
  return passed ? 0 : 2;
}

}  // namespace regtrace::proxy
