#include "proxy/commands/replay_send.hpp"

#include "capture/har/har_reader.hpp"
#include "capture/har/har_writer.hpp"
#include "capture/redaction/redaction.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/rules/rules.hpp"
#include "capture/replay/diff.hpp"
#include "capture/text/display.hpp"
#include "proxy/config/host_rules.hpp"
#include "proxy/session/replay_fields.hpp"
#include "proxy/upstream/registry_client.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <stdexcept>

namespace regtrace::proxy {
namespace {

using capture::exchange;
using capture::registry::request_kind;

// Reads only: re-issuing uploads or deletes would change the registry. Token requests are replaced
// by a fresh exchange (recorded tokens are redacted); storage URLs carry expired, redacted signatures.
bool worth_resending(exchange const& x, std::vector<std::string> const& only) {
  if (x.kind != capture::entry_kind::exchange || (x.method != "GET" && x.method != "HEAD")) return false;
  auto const kind = capture::registry::classify(x.method, x.host, x.target).kind;
  if (kind == request_kind::token || kind == request_kind::storage) return false;
  if (only.empty()) return true;
  auto const path = x.target.substr(0, x.target.find('?'));
  for (auto const& glob : only)
    if (host_matches(glob, path) || host_matches(glob, x.url())) return true;
  return false;
}

// A recorded request as it is sent again: method, URL and the request headers that can be written
// (SPEC §8: a trace is hostile input); nothing of the answer. What is left out goes to *notes.
exchange request_of(exchange const& recorded, std::vector<std::string>* notes) {
  exchange x;
  x.method = recorded.method;
  x.scheme = recorded.scheme;
  x.host = recorded.host;
  x.port = recorded.port;
  x.target = recorded.target;
  auto writable = writable_fields_of(recorded.request_headers);
  x.request_headers = std::move(writable.kept);
  for (auto& note : writable.notes) notes->push_back(std::move(note));
  return x;
}

void warn(std::size_t entry, std::string const& what) {
  std::fprintf(stderr, "regtrace: warning: entry #%zu: %s\n", entry + 1, capture::printable(what).c_str());
}

// What changed between the recorded reads and today's answers, request by request, then in the
// findings of both.
struct replay_outcome {
  std::vector<capture::replay::request_diff> diffs;
  std::size_t changed = 0;  ///< requests with at least one change
  capture::replay::findings_diff findings;

  bool anything() const { return changed > 0 || !findings.appeared.empty() || !findings.disappeared.empty(); }
};

// picked: positions in trace.exchanges, in the order of now.
replay_outcome compare_reads(capture::har_read_result const& trace, std::vector<std::size_t> const& picked,
                             std::vector<exchange> const& now) {
  replay_outcome out;
  for (std::size_t k = 0; k < picked.size(); ++k) {
    auto const entry = trace.entry_indexes.empty() ? picked[k] : trace.entry_indexes[picked[k]];
    out.diffs.push_back(capture::replay::compare(trace.exchanges[picked[k]], entry, now[k]));
    if (!out.diffs.back().changes.empty()) ++out.changed;
  }
  std::vector<exchange> recorded_reads;
  for (auto i : picked) recorded_reads.push_back(trace.exchanges[i]);
  out.findings = capture::replay::compare_findings(capture::rules::diagnose(recorded_reads),
                                                   capture::rules::diagnose(now));
  return out;
}

void write_redacted_har(std::filesystem::path const& path, std::vector<exchange> const& now) {
  capture::har_file out(path);
  for (auto x : now) {
    capture::redact(x);
    out.append(capture::to_har_entry(x));
  }
}

void print_json(replay_send_options const& options, std::size_t resent, replay_outcome const& outcome) {
  auto requests = nlohmann::json::array();
  for (auto const& d : outcome.diffs)
    requests.push_back({{"entry", d.recorded_entry}, {"method", d.method}, {"url", d.url},
                        {"recorded_status", d.recorded_status}, {"status_now", d.status_now},
                        {"changes", d.changes}});
  auto ids = [](auto const& list) {
    auto out = nlohmann::json::array();
    for (auto const& f : list) out.push_back(f.id);
    return out;
  };
  nlohmann::json report{{"schema", "regtrace.replay-send/1"}, {"trace", options.trace.string()},
                        {"resent", resent}, {"changed", outcome.changed}, {"requests", requests},
                        {"findings_appeared", ids(outcome.findings.appeared)},
                        {"findings_disappeared", ids(outcome.findings.disappeared)}};
  std::printf("%s\n", report.dump(2).c_str());
}

// Everything here quotes the trace or the registry: each line is made terminal-safe (SPEC §8).
void print_text(replay_send_options const& options, std::size_t resent, replay_outcome const& outcome) {
  auto const line = [](std::string const& text) { std::printf("%s\n", capture::printable(text).c_str()); };
  line("regtrace replay send: " + options.trace.filename().string() + " — " + std::to_string(resent) +
       " registry reads re-sent, " + std::to_string(outcome.changed) + " changed");
  std::printf("\n");
  for (auto const& d : outcome.diffs) {
    line("#" + std::to_string(d.recorded_entry + 1) + " " + d.method + " " + d.url + ": " +
         (d.changes.empty() ? "same" : "CHANGED"));
    for (auto const& change : d.changes) line("    " + change);
  }
  for (auto const& f : outcome.findings.appeared) {
    std::printf("\n");
    line("new finding " + f.id + " " + f.name + ": " + f.title);
  }
  for (auto const& f : outcome.findings.disappeared) {
    std::printf("\n");
    line("gone: finding " + f.id + " " + f.name + " (" + f.title + ") no longer shows");
  }
  if (!outcome.anything()) std::printf("\nThe registry answers as it did when the trace was recorded.\n");
}

}  // namespace

int run_replay_send(replay_send_options const& options) {
  auto trace = capture::read_har_file(options.trace);
  if (!trace.ok) throw std::runtime_error(trace.error);
  for (auto const& warning : trace.warnings)
    std::fprintf(stderr, "regtrace: warning: %s\n", capture::printable(warning).c_str());

  std::vector<std::size_t> picked;  // positions in trace.exchanges
  std::vector<exchange> now;
  for (std::size_t i = 0; i < trace.exchanges.size(); ++i) {
    auto const& recorded = trace.exchanges[i];
    if (!worth_resending(recorded, options.only)) continue;
    auto const entry = trace.entry_indexes.empty() ? i : trace.entry_indexes[i];
    if (std::string why; !is_resendable_request(recorded, &why)) {
      warn(entry, "not re-sent: " + why);
      continue;
    }
    std::vector<std::string> notes;
    now.push_back(request_of(recorded, &notes));
    picked.push_back(i);
    for (auto const& note : notes) warn(entry, note);
  }
  if (picked.empty())
    throw std::runtime_error(options.trace.string() + " has no registry read (GET or HEAD) to re-send");

  auto client_options = options.client;
  client_options.user_agent = "regtrace-replay/" REGTRACE_VERSION;
  registry_client client(std::move(client_options));
  // A request recorded with credentials is sent with fresh ones (the recorded ones are redacted);
  // one recorded without them is sent without, so an anonymous 401 stays a 401.
  for (auto& x : now) client.send(x, capture::find_header(x.request_headers, "Authorization") != nullptr);

  auto const outcome = compare_reads(trace, picked, now);
  if (!options.output_har.empty()) write_redacted_har(options.output_har, now);
  if (options.json)
    print_json(options, picked.size(), outcome);
  else
    print_text(options, picked.size(), outcome);
  return outcome.anything() ? 2 : 0;
}

}  // namespace regtrace::proxy
