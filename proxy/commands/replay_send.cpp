#include "proxy/commands/replay_send.hpp"

#include "capture/har/har_reader.hpp"
#include "capture/har/har_writer.hpp"
#include "capture/redaction/redaction.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/rules/rules.hpp"
#include "capture/replay/diff.hpp"
#include "proxy/config/host_rules.hpp"
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

}  // namespace

int run_replay_send(replay_send_options const& options) {
  auto trace = capture::read_har_file(options.trace);
  if (!trace.ok) throw std::runtime_error(trace.error);
  for (auto const& warning : trace.warnings) std::fprintf(stderr, "regtrace: warning: %s\n", warning.c_str());

  std::vector<std::size_t> picked;  // positions in trace.exchanges
  std::vector<exchange> now;
  for (std::size_t i = 0; i < trace.exchanges.size(); ++i) {
    auto const& recorded = trace.exchanges[i];
    if (!worth_resending(recorded, options.only)) continue;
    picked.push_back(i);
    exchange x;
    x.method = recorded.method;
    x.scheme = recorded.scheme;
    x.host = recorded.host;
    x.port = recorded.port;
    x.target = recorded.target;
    x.request_headers = recorded.request_headers;
    now.push_back(std::move(x));
  }
  if (picked.empty()) throw std::runtime_error(options.trace.string() + " has no registry read (GET or HEAD) to re-send");

  auto client_options = options.client;
  client_options.user_agent = "regtrace-replay/" REGTRACE_VERSION;
  registry_client client(std::move(client_options));
  // A request recorded with credentials is sent with fresh ones (the recorded ones are redacted);
  // one recorded without them is sent without, so an anonymous 401 stays a 401.
  for (auto& x : now) client.send(x, capture::find_header(x.request_headers, "Authorization") != nullptr);

  // What changed, request by request, then in the findings of both traces.
  std::vector<capture::replay::request_diff> diffs;
  std::size_t changed = 0;
  for (std::size_t k = 0; k < picked.size(); ++k) {
    auto const entry = trace.entry_indexes.empty() ? picked[k] : trace.entry_indexes[picked[k]];
    diffs.push_back(capture::replay::compare(trace.exchanges[picked[k]], entry, now[k]));
    if (!diffs.back().changes.empty()) ++changed;
  }
  std::vector<exchange> recorded_reads;
  for (auto i : picked) recorded_reads.push_back(trace.exchanges[i]);
  auto const findings = capture::replay::compare_findings(capture::rules::diagnose(recorded_reads),
                                                          capture::rules::diagnose(now));
  bool const anything = changed > 0 || !findings.appeared.empty() || !findings.disappeared.empty();

  if (!options.output_har.empty()) {
    capture::har_file out(options.output_har);
    for (auto x : now) {
      capture::redact(x);
      out.append(capture::to_har_entry(x));
    }
  }

  if (options.json) {
    auto requests = nlohmann::json::array();
    for (auto const& d : diffs)
      requests.push_back({{"entry", d.recorded_entry}, {"method", d.method}, {"url", d.url},
                          {"recorded_status", d.recorded_status}, {"status_now", d.status_now},
                          {"changes", d.changes}});
    auto ids = [](auto const& list) {
      auto out = nlohmann::json::array();
      for (auto const& f : list) out.push_back(f.id);
      return out;
    };
    nlohmann::json report{{"schema", "regtrace.replay-send/1"}, {"trace", options.trace.string()},
                          {"resent", picked.size()}, {"changed", changed}, {"requests", requests},
                          {"findings_appeared", ids(findings.appeared)},
                          {"findings_disappeared", ids(findings.disappeared)}};
    std::printf("%s\n", report.dump(2).c_str());
  } else {
    std::printf("regtrace replay send: %s — %zu registry reads re-sent, %zu changed\n\n",
                options.trace.filename().c_str(), picked.size(), changed);
    for (auto const& d : diffs) {
      std::printf("#%zu %s %s: %s\n", d.recorded_entry + 1, d.method.c_str(), d.url.c_str(),
                  d.changes.empty() ? "same" : "CHANGED");
      for (auto const& change : d.changes) std::printf("    %s\n", change.c_str());
    }
    for (auto const& f : findings.appeared)
      std::printf("\nnew finding %s %s: %s\n", f.id.c_str(), f.name.c_str(), f.title.c_str());
    for (auto const& f : findings.disappeared)
      std::printf("\ngone: finding %s %s (%s) no longer shows\n", f.id.c_str(), f.name.c_str(), f.title.c_str());
    if (!anything) std::printf("\nThe registry answers as it did when the trace was recorded.\n");
  }
  return anything ? 2 : 0;
}

}  // namespace regtrace::proxy
