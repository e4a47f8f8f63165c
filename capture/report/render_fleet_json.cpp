// The fleet JSON document, schema "regtrace.fleet-report/1" (README documents it). Members are only
// ever added within a schema version; times are ISO 8601 UTC strings or null when the HAR had none.
#include "capture/report/render_fleet.hpp"

#include <nlohmann/json.hpp>

namespace regtrace::capture::report {
namespace {

using nlohmann::json;

json or_null(std::optional<time_point> t) {
  return t ? json(time_text(t)) : json(nullptr);
}

json severity_json(std::optional<rules::severity> s) {
  return s ? json(rules::to_string(*s)) : json(nullptr);
}

json counts_json(severity_counts const& c) {
  return {{"critical", c[3]}, {"error", c[2]}, {"warning", c[1]}, {"info", c[0]}};
}

json trace_json(fleet_trace const& t) {
  auto const& r = t.summary;
  return {{"trace", t.name},
          {"node", t.node},
          {"file", r.source.file},
          {"creator", r.source.creator},
          {"entries", r.source.entries},
          {"truncated", r.source.truncated},
          {"verdict", r.verdict},
          {"worst_severity", severity_json(worst_severity(r))},
          {"counts", counts_json(r.counts)}};
}

json finding_json(fleet const& f, fleet_finding const& g) {
  auto traces = json::array();
  for (auto const& o : g.traces) {
    traces.push_back({{"trace", f.traces[o.trace].name},
                      {"node", f.traces[o.trace].node},
                      {"requests", o.requests},
                      {"first_seen", or_null(o.first_seen)},
                      {"last_seen", or_null(o.last_seen)}});
  }
  return {{"id", g.id},
          {"name", g.name},
          {"severity", rules::to_string(g.level)},
          {"title", g.title},
          {"cause", g.cause},
          {"client_error", g.client_error},
          {"remediation", g.remediation},
          {"traces", std::move(traces)},
          {"requests", g.requests},
          {"first_seen", or_null(g.first_seen)},
          {"last_seen", or_null(g.last_seen)}};
}

/// The document without the members of "reports".
json fleet_document(fleet const& f) {
  auto traces = json::array();
  for (auto const& t : f.traces) traces.push_back(trace_json(t));
  auto unreadable = json::array();
  for (auto const& u : f.unreadable) unreadable.push_back({{"file", u.file}, {"reason", u.reason}});
  auto findings = json::array();
  for (auto const& g : f.findings) findings.push_back(finding_json(f, g));
  return {{"schema", fleet_json_schema},
          {"generator", {{"name", "regtrace"}, {"version", REGTRACE_VERSION}}},
          {"fleet",
           {{"verdict", f.verdict},
            {"worst_severity", severity_json(worst_severity(f))},
            {"counts", counts_json(f.counts)},
            {"traces", std::move(traces)},
            {"unreadable", std::move(unreadable)},
            {"findings", std::move(findings)}}},
          {"reports", json::array()}};
}

std::string dump(json const& j) {
  // Invalid UTF-8 from a foreign HAR must not make the dump throw: replace it.
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace

json to_json(fleet const& f) {
  auto document = fleet_document(f);
  for (auto const& t : f.traces) document["reports"].push_back(to_json(t.summary));
  return document;
}

std::string render_fleet_json(fleet const& f) {
  // The text of to_json(f).dump(2), but with one trace's report in memory as JSON at a time: the
  // reports are written into the empty "reports" array, each indented to its depth (4 spaces).
  auto const frame = dump(fleet_document(f));
  std::string_view const empty = "\n  \"reports\": []";  // top level, so indented by 2: unique
  auto const at = frame.find(empty);
  if (at == std::string::npos || f.traces.empty()) return frame + "\n";
  std::string out = frame.substr(0, at) + "\n  \"reports\": [";
  for (std::size_t i = 0; i < f.traces.size(); ++i) {
    out += i == 0 ? "\n    " : ",\n    ";
    auto const one = dump(to_json(f.traces[i].summary));
    std::string_view rest = one;
    for (auto line = rest.find('\n'); line != std::string_view::npos; line = rest.find('\n')) {
      out += rest.substr(0, line + 1);
      out += "    ";
      rest.remove_prefix(line + 1);
    }
    out += rest;
  }
  out += "\n  ]";
  out += std::string_view(frame).substr(at + empty.size());
  out += '\n';
  return out;
}

}  // namespace regtrace::capture::report
