#include "capture/rules/finding.hpp"

#include "capture/model/name_table.hpp"
#include "capture/text/ascii.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace regtrace::capture::rules {
namespace {

constexpr name_table<severity, 4> severity_names{{
    {severity::info, "info"},
    {severity::warning, "warning"},
    {severity::error, "error"},
    {severity::critical, "critical"},
}};

std::string string_member(nlohmann::json const& j, char const* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

std::string_view to_string(severity s) {
  return name_of(severity_names, s, "error");
}

std::optional<severity> severity_from_string(std::string_view name) {
  return value_of(severity_names, to_lower(name));  // other tools write "ERROR", "Warning"
}

nlohmann::json to_json(finding const& f) {
  auto entries = nlohmann::json::array();
  auto items = nlohmann::json::array();
  for (auto const& e : f.evidence) {
    entries.push_back(e.entry);
    items.push_back({{"entry", e.entry}, {"detail", e.detail}});
  }
  return {{"id", f.id},
          {"name", f.name},
          {"severity", to_string(f.level)},
          {"title", f.title},
          {"explanation", f.explanation},
          {"client_error", f.client_error},
          {"remediation", f.remediation},
          {"entries", std::move(entries)},
          {"evidence", std::move(items)}};
}

std::optional<finding> finding_from_json(nlohmann::json const& j) {
  if (!j.is_object()) return std::nullopt;
  finding f;
  f.id = string_member(j, "id");
  if (f.id.empty()) return std::nullopt;
  f.name = string_member(j, "name");
  f.level = severity_from_string(string_member(j, "severity")).value_or(severity::error);
  f.title = string_member(j, "title");
  f.explanation = string_member(j, "explanation");
  f.client_error = string_member(j, "client_error");
  f.remediation = string_member(j, "remediation");
  if (auto it = j.find("evidence"); it != j.end() && it->is_array()) {
    for (auto const& item : *it) {
      if (!item.is_object()) continue;
      auto entry = item.find("entry");
      if (entry == item.end() || !entry->is_number_unsigned()) continue;
      f.evidence.push_back({entry->get<std::size_t>(), string_member(item, "detail")});
    }
  }
  return f;
}

std::size_t times_seen(finding const& f) {
  return std::max<std::size_t>(1, f.seen_on.size());
}

void map_evidence_entries(std::vector<finding>& findings, std::vector<std::size_t> const& positions) {
  auto map = [&](std::size_t& entry) {
    if (entry < positions.size()) entry = positions[entry];
  };
  for (auto& f : findings) {
    for (auto& item : f.evidence) map(item.entry);
    std::ranges::for_each(f.seen_on, map);
    std::ranges::for_each(f.recovered_on, map);
  }
}

void sort_by_severity(std::vector<finding>& findings) {
  auto first_entry = [](finding const& f) {
    return f.evidence.empty() ? std::size_t(-1) : f.evidence.front().entry;
  };
  std::stable_sort(findings.begin(), findings.end(), [&](finding const& a, finding const& b) {
    if (a.level != b.level) return a.level > b.level;
    return first_entry(a) < first_entry(b);
  });
}

}  // namespace regtrace::capture::rules
