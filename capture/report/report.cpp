// Building the report model: a fresh diagnosis, renumbered from exchange positions to log.entries
// positions (the reader skips entries it cannot use), and the rows of the request table.
#include "capture/report/report.hpp"

#include "capture/text/display.hpp"
#include "capture/har/har_writer.hpp"
#include "capture/rules/rules.hpp"
#include "capture/registry/error_body.hpp"

#include <algorithm>

namespace regtrace::capture::report {
namespace {

using rules::severity;

std::string verdict_of(report const& r) {
  auto const exchanges = plural(r.entries.size(), "exchange", "exchanges");
  if (r.entries.empty()) return "Nothing to diagnose: the trace has no complete entries";
  auto const worst = worst_severity(r);
  if (!worst) return "No problems found in " + exchanges;
  auto const& top = r.findings.front();
  auto const what = " — " + top.title + " (" + top.id + ")";
  if (*worst >= severity::error) return "FAILED: " + counts_phrase(r.counts) + what;
  if (*worst == severity::warning) return "PASSED with warnings: " + counts_phrase(r.counts) + what;
  return "No problems found in " + exchanges + "; " + counts_phrase(r.counts) + what;
}

std::string failure_text(exchange const& x) {
  if (!x.failure) return {};
  std::string text(to_string(x.failure->where));
  text += ": ";
  text += x.failure->message.empty() ? x.failure->detail : x.failure->message;
  return text;
}

}  // namespace

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::optional<severity> worst_severity(report const& r) {
  if (r.findings.empty()) return std::nullopt;
  return r.findings.front().level;  // findings are kept most severe first
}

std::string counts_phrase(severity_counts const& counts) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> names{{
      {"info", "info"},
      {"warning", "warnings"},
      {"error", "errors"},
      {"critical", "critical"},
  }};
  std::string out;
  for (std::size_t level = counts.size(); level-- > 0;) {
    if (counts[level] == 0) continue;
    if (!out.empty()) out += ", ";
    out += plural(counts[level], names[level].first, names[level].second);
  }
  return out;
}

report build_report(har_read_result read, std::string file) {
  auto findings = rules::diagnose(read.exchanges);
  return make_report(std::move(read), std::move(file), std::move(findings));
}

report make_report(har_read_result read, std::string file, std::vector<rules::finding> findings) {
  report r;
  r.source = source_info{
      .file = std::move(file),
      .creator = read.creator,
      .node = read.node,
      .entries = read.exchanges.size(),
      .truncated = read.truncated,
      .by_regtrace = read.creator == "regtrace",
  };
  r.warnings = std::move(read.warnings);
  r.exchanges = std::move(read.exchanges);
  r.findings = std::move(findings);
  rules::map_evidence_entries(r.findings, read.entry_indexes);
  for (auto const& f : r.findings) ++r.counts[static_cast<std::size_t>(f.level)];
  rules::sort_by_severity(r.findings);
  if (!r.findings.empty()) {
    r.client_error = r.findings.front().client_error;
    r.remediation = r.findings.front().remediation;
  }

  std::optional<std::chrono::system_clock::time_point> first_start;
  for (auto const& x : r.exchanges) {
    if (x.started == std::chrono::system_clock::time_point{}) continue;
    if (!first_start || x.started < *first_start) first_start = x.started;
  }
  for (std::size_t i = 0; i < r.exchanges.size(); ++i) {
    exchange const& x = r.exchanges[i];
    entry_row row;
    row.index = i < read.entry_indexes.size() ? read.entry_indexes[i] : i;
    row.exchange = i;
    bool const has_start = x.started != std::chrono::system_clock::time_point{};
    if (has_start) {
      row.started = iso8601_utc(x.started);
      row.start_ms = std::chrono::duration<double, std::milli>(x.started - *first_start).count();
    }
    row.method = x.method.empty() ? std::string(to_string(x.kind)) : x.method;
    row.url = x.kind == entry_kind::exchange ? x.url() : x.authority();
    row.host = x.authority();
    row.path = x.kind == entry_kind::exchange ? shorten_target(x.target) : std::string();
    row.status = x.status;
    row.reason = x.reason;
    row.error_code = registry::error_of(x, registry::classify(x.method, x.host, x.target).kind).code();
    row.failure = failure_text(x);
    row.request_bytes = x.request_body.bytes;
    row.response_bytes = x.response_body.bytes;
    row.time_ms = x.total_ms();
    row.timings = x.timings;
    for (auto const& f : r.findings) {
      bool const cited = std::any_of(f.evidence.begin(), f.evidence.end(),
                                     [&](rules::evidence_item const& e) { return e.entry == row.index; });
      if (cited && std::find(row.finding_ids.begin(), row.finding_ids.end(), f.id) == row.finding_ids.end())
        row.finding_ids.push_back(f.id);
    }
    r.entries.push_back(std::move(row));
  }
  r.operations = find_operations(r);
  r.clients = registry::clients_of(r.exchanges);
  r.verdict = verdict_of(r);
  return r;
}

}  // namespace regtrace::capture::report
