// Issue 12, one cause, one finding: the rule groups' findings merged by catalog ID and cause, so a
// failure seen on every blob of a push is one finding that lists every request and says how many.
#include "capture/rules/rules_detail.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

namespace regtrace::capture::rules::detail {
namespace {

void sort_unique(std::vector<std::size_t>& entries) {
  std::ranges::sort(entries);
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
}

// One finding from found[group...], all of one ID and cause: the texts of the first most severe, every
// entry once, in trace order.
finding merged(std::vector<finding>& found, std::vector<std::size_t> const& group) {
  auto const top = *std::ranges::max_element(group, {}, [&](std::size_t i) { return found[i].level; });
  finding out = std::move(found[top]);  // max_element keeps the first of equals
  std::size_t items = out.evidence.size();
  for (auto const i : group) items += i == top ? 0 : found[i].evidence.size();
  out.evidence.reserve(items);
  for (auto const i : group) {
    if (i == top) continue;
    auto& f = found[i];
    out.evidence.insert(out.evidence.end(), std::make_move_iterator(f.evidence.begin()),
                        std::make_move_iterator(f.evidence.end()));
    out.seen_on.insert(out.seen_on.end(), f.seen_on.begin(), f.seen_on.end());
    out.recovered_on.insert(out.recovered_on.end(), f.recovered_on.begin(), f.recovered_on.end());
  }
  // An entry several findings cite (the token request of each refused HEAD) once.
  std::ranges::stable_sort(out.evidence, {}, &evidence_item::entry);
  auto const repeated = std::ranges::unique(out.evidence, {}, &evidence_item::entry);
  out.evidence.erase(repeated.begin(), repeated.end());
  sort_unique(out.seen_on);
  sort_unique(out.recovered_on);
  return out;
}

// "#4, #7, #9, #12, #15, … #31": the first few and the last, numbered from 1 as the reports do.
std::string entry_list(std::vector<std::size_t> const& entries) {
  constexpr std::size_t shown = 5;
  std::string text;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i == shown && entries.size() > shown + 1) {
      text += ", … #" + std::to_string(entries.back() + 1);
      break;
    }
    text += (i == 0 ? "#" : ", #") + std::to_string(entries[i] + 1);
  }
  return text;
}

}  // namespace

std::size_t last_evidence_entry(finding const& f) {
  return std::ranges::max(f.evidence, {}, &evidence_item::entry).entry;
}

std::vector<std::size_t> entries_of(std::vector<evidence_item> const& items) {
  std::vector<std::size_t> entries;
  entries.reserve(items.size());
  for (auto const& item : items) entries.push_back(item.entry);
  return entries;
}

void merge_by_cause(std::vector<finding>& found, std::span<exchange const> entries, std::size_t first_index) {
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> group_of;  // (id, cause) -> groups
  std::vector<std::vector<std::size_t>> groups;                                   // indexes into found
  for (std::size_t i = 0; i < found.size(); ++i) {
    auto& f = found[i];
    if (f.seen_on.empty() && !f.evidence.empty()) f.seen_on = {last_evidence_entry(f)};
    if (f.cause.empty() && !f.seen_on.empty() && f.seen_on.front() - first_index < entries.size())
      f.cause = host_of(entries[f.seen_on.front() - first_index]);
    auto const [at, added] = group_of.try_emplace({f.id, f.cause}, groups.size());
    if (added) groups.emplace_back();
    groups[at->second].push_back(i);
  }
  if (groups.size() == found.size()) return;  // nothing to merge
  std::vector<finding> out;
  out.reserve(groups.size());
  for (auto const& group : groups)
    out.push_back(group.size() == 1 ? std::move(found[group.front()]) : merged(found, group));
  found = std::move(out);
}

void combine(finding& into, finding from) {
  std::vector<finding> pair;
  pair.push_back(std::move(into));
  pair.push_back(std::move(from));
  into = merged(pair, {0, 1});
}

void state_count(finding& f) {
  auto const n = f.seen_on.size();
  if (n < 2) return;
  f.explanation += " Seen on " + std::to_string(n) + " requests (" + entry_list(f.seen_on) + ").";
  auto const recovered = f.recovered_on.size();
  if (recovered == n)
    f.explanation += " The client recovered from every one.";
  else if (recovered > 0)
    f.explanation += " The client recovered from " + std::to_string(recovered) + " of them; " +
                     std::to_string(n - recovered) + " never succeeded.";
}

}  // namespace regtrace::capture::rules::detail
