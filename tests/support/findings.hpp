#pragma once
// Picking findings apart in the rules tests: by ID, by level, their evidence, and what the trace
// writer would report live.

#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"
#include "capture/rules/rules.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regtrace::capture::test {

/// The findings with this catalog ID.
inline std::vector<rules::finding> with_id(std::vector<rules::finding> const& all, std::string_view id) {
  std::vector<rules::finding> out;
  for (auto const& f : all)
    if (f.id == id) out.push_back(f);
  return out;
}

/// The entry indexes of a finding's evidence, in order.
inline std::vector<std::size_t> evidence_entries(rules::finding const& f) {
  std::vector<std::size_t> out;
  for (auto const& e : f.evidence) out.push_back(e.entry);
  return out;
}

/// The findings whose ID starts with one of the prefixes ("B-", "D-") at or above level.
inline std::vector<rules::finding> at_least(std::vector<rules::finding> const& all, rules::severity level,
                                            std::vector<std::string_view> prefixes) {
  std::vector<rules::finding> out;
  for (auto const& f : all)
    for (auto p : prefixes)
      if (f.id.starts_with(p) && f.level >= level) out.push_back(f);
  return out;
}

/// Findings at or above level, as "ID severity: explanation" strings (readable in a failed CHECK).
inline std::vector<std::string> at_or_above(std::vector<rules::finding> const& all, rules::severity level) {
  std::vector<std::string> out;
  for (auto const& f : all)
    if (f.level >= level)
      out.push_back(f.id + " " + std::string(rules::to_string(f.level)) + ": " + f.explanation);
  return out;
}

/// What the proxy's trace writer would report live: each entry added in turn, every finding it tells
/// of kept (a cause when it first shows, and again when it shows on another request).
inline std::vector<rules::finding> live_findings(std::vector<exchange> const& trace) {
  rules::live_diagnostics live;
  std::vector<rules::finding> out;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    auto news = live.add(trace[i], i);
    for (auto* told : {&news.fresh, &news.grown})
      for (auto& f : *told) out.push_back(std::move(f));
  }
  return out;
}

/// Findings at error or above from the B (auth) and D (redirect) rules, in the final diagnosis and live
/// (each entry as the trace writer adds it, where a retry still to come must not be reported).
inline std::vector<rules::finding> serious(std::vector<exchange> const& trace) {
  auto out = at_least(rules::diagnose(trace), rules::severity::error, {"B-", "D-"});
  for (auto& f : at_least(live_findings(trace), rules::severity::error, {"B-", "D-"}))
    out.push_back(std::move(f));
  return out;
}

}  // namespace regtrace::capture::test
