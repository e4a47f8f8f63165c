// Building the fleet model: each trace's findings regrouped by (catalog ID, cause) across traces, with
// the times of the requests that showed them, then sorted and summed up in one verdict.
#include "capture/report/fleet.hpp"

#include "capture/har/har_writer.hpp"
#include "capture/text/ascii.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>

namespace regtrace::capture::report {
namespace {

using rules::severity;

/// The start time of log.entries[index], when the trace has that entry and a time for it.
std::optional<time_point> started_at(report const& r, std::size_t index) {
  // Rows are in file order, so their log.entries indexes ascend.
  auto const row = std::ranges::lower_bound(r.entries, index, {}, &entry_row::index);
  if (row == r.entries.end() || row->index != index || row->exchange >= r.exchanges.size())
    return std::nullopt;
  auto const t = r.exchanges[row->exchange].started;
  if (t == time_point{}) return std::nullopt;
  return t;
}

void widen(std::optional<time_point>& first, std::optional<time_point>& last, std::optional<time_point> t) {
  if (!t) return;
  if (!first || *t < *first) first = t;
  if (!last || *t > *last) last = t;
}

fleet_occurrence occurrence_of(report const& r, rules::finding const& f, std::size_t trace) {
  fleet_occurrence o{.trace = trace, .requests = rules::times_seen(f)};
  for (auto const entry : f.seen_on) widen(o.first_seen, o.last_seen, started_at(r, entry));
  if (f.seen_on.empty())
    for (auto const& item : f.evidence) widen(o.first_seen, o.last_seen, started_at(r, item.entry));
  return o;
}

fleet_finding group_of(rules::finding const& f) {
  return fleet_finding{.id = f.id,
                       .name = f.name,
                       .cause = f.cause,
                       .level = f.level,
                       .title = f.title,
                       .client_error = f.client_error,
                       .remediation = f.remediation};
}

/// Trace names: the file name, or the path as given where two traces share one; the node is the
/// machine the trace says it was recorded on (regtrace writes its host name), else the name without
/// ".har".
void name_traces(std::vector<fleet_trace>& traces) {
  std::map<std::string, std::size_t> uses;
  for (auto const& t : traces) ++uses[std::filesystem::path(t.summary.source.file).filename().string()];
  for (auto& t : traces) {
    auto const file_name = std::filesystem::path(t.summary.source.file).filename().string();
    t.name = uses[file_name] > 1 ? t.summary.source.file : file_name;
    std::string_view node = t.name;
    if (node.size() > 4 && iequals(node.substr(node.size() - 4), ".har")) node.remove_suffix(4);
    t.node = t.summary.source.node.empty() ? std::string(node) : t.summary.source.node;
  }
}

/// The rules' cause key for people: some keys hold several lines (the image, then the client's
/// User-Agent); the non-empty ones are joined with " · ".
std::string cause_text(std::string_view key) {
  std::string text;
  while (!key.empty()) {
    auto const end = std::min(key.find('\n'), key.size());
    if (end > 0) text += (text.empty() ? "" : " · ") + std::string(key.substr(0, end));
    key.remove_prefix(std::min(end + 1, key.size()));
  }
  return text;
}

void total(fleet_finding& g) {
  g.cause = cause_text(g.cause);
  g.requests = 0;
  for (auto const& o : g.traces) {
    g.requests += o.requests;
    widen(g.first_seen, g.last_seen, o.first_seen);
    widen(g.first_seen, g.last_seen, o.last_seen);
  }
}

std::string verdict_of(fleet const& f) {
  auto const traces = plural(f.traces.size(), "trace", "traces");
  auto const worst = worst_severity(f);
  std::string verdict;
  if (!worst || f.findings.empty()) {
    verdict = "No problems found in " + traces;
  } else {
    auto const& top = f.findings.front();
    auto const on = std::ranges::count_if(f.traces, [&](fleet_trace const& t) {
      auto const w = worst_severity(t.summary);
      return w && *w >= std::min(*worst, severity::error);
    });
    auto const what = ": " + counts_phrase(f.counts) + " — " + top.title + " (" + top.id + ") on " +
                      plural(top.traces.size(), "trace", "traces");
    auto const of = std::to_string(on) + " of " + traces;
    if (*worst >= severity::error)
      verdict = "FAILED on " + of + what;
    else if (*worst == severity::warning)
      verdict = "PASSED with warnings on " + of + what;
    else
      verdict = "No problems found in " + traces + what;
  }
  if (!f.unreadable.empty())
    verdict += "; " + plural(f.unreadable.size(), "trace", "traces") + " could not be read";
  return verdict;
}

}  // namespace

void fleet_builder::add(report r) {
  auto const trace = fleet_.traces.size();
  for (auto const& f : r.findings) {
    auto group = std::ranges::find_if(
        fleet_.findings, [&](fleet_finding const& g) { return g.id == f.id && g.cause == f.cause; });
    if (group == fleet_.findings.end()) {
      fleet_.findings.push_back(group_of(f));
      group = std::prev(fleet_.findings.end());
    } else if (f.level > group->level) {
      auto traces = std::move(group->traces);
      *group = group_of(f);
      group->traces = std::move(traces);
    }
    group->traces.push_back(occurrence_of(r, f, trace));
  }
  if (!keep_entries_) {
    std::vector<entry_row>{}.swap(r.entries);
    std::vector<exchange>{}.swap(r.exchanges);
    std::vector<operation>{}.swap(r.operations);
  }
  fleet_.traces.push_back(fleet_trace{.summary = slim_report(std::move(r))});
}

void fleet_builder::add_unreadable(std::string file, std::string reason) {
  fleet_.unreadable.push_back({std::move(file), std::move(reason)});
}

fleet fleet_builder::finish() && {
  fleet f = std::move(fleet_);
  name_traces(f.traces);
  for (auto& g : f.findings) total(g);
  std::ranges::stable_sort(f.findings, [](fleet_finding const& a, fleet_finding const& b) {
    if (a.level != b.level) return a.level > b.level;
    if (a.traces.size() != b.traces.size()) return a.traces.size() > b.traces.size();
    if (a.requests != b.requests) return a.requests > b.requests;
    return std::tie(a.id, a.cause) < std::tie(b.id, b.cause);
  });
  for (auto const& g : f.findings) ++f.counts[static_cast<std::size_t>(g.level)];
  f.verdict = verdict_of(f);
  return f;
}

report slim_report(report r) {
  for (auto& x : r.exchanges) {
    header_list{}.swap(x.request_headers);
    header_list{}.swap(x.response_headers);
    std::string{}.swap(x.request_body.text);
    std::string{}.swap(x.response_body.text);
    std::string{}.swap(x.unparsed_hex);
    x.client_tls.reset();
    x.upstream_tls.reset();
  }
  return r;
}

std::optional<severity> worst_severity(fleet const& f) {
  if (f.findings.empty()) return std::nullopt;
  return f.findings.front().level;  // most severe first
}

std::string time_text(std::optional<time_point> t) {
  return t ? iso8601_utc(*t) : std::string();
}

}  // namespace regtrace::capture::report
