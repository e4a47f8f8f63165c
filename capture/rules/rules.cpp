// The rules engine's driver: parse each entry once, run the rule groups, order the findings; and the
// live window used by the trace writer.
#include "capture/rules/rules.hpp"

#include "capture/text/ascii.hpp"
#include "capture/rules/rules_detail.hpp"

#include <algorithm>
#include <charconv>

namespace regtrace::capture::rules {
namespace detail {

std::string const& entry_facts::error_code() const {
  return error.code();
}

auth_challenge const* entry_facts::challenge(std::string_view scheme) const {
  for (auto const& c : challenges)
    if (iequals(c.scheme, scheme)) return &c;
  return nullptr;
}

bool entry_facts::is_registry_api() const {
  return x->target.starts_with("/v2/") || x->target == "/v2" || x->target.find("/v2/") != std::string::npos ||
         response_header("Docker-Distribution-Api-Version") != nullptr;
}

bool entry_facts::has_authorization() const {
  return request_header("Authorization") != nullptr;
}

std::string const* entry_facts::request_header(std::string_view name) const {
  return find_header(x->request_headers, name);
}

std::string const* entry_facts::response_header(std::string_view name) const {
  return find_header(x->response_headers, name);
}

std::vector<entry_facts> analyse(std::span<exchange const> entries, std::size_t first_index,
                                 bool trace_complete) {
  std::vector<entry_facts> facts;
  facts.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    exchange const& x = entries[i];
    entry_facts e;
    e.index = first_index + i;
    e.trace_complete = trace_complete;
    e.x = &x;
    e.cls = classify(x.method, x.host, x.target);
    e.error = error_of(x, e.cls.kind);
    for (auto const& h : x.response_headers) {
      if (!iequals(h.name, "WWW-Authenticate")) continue;
      auto parsed = parse_www_authenticate(h.value);
      e.challenges.insert(e.challenges.end(), parsed.begin(), parsed.end());
    }
    facts.push_back(std::move(e));
  }
  // Entries are written as exchanges finish, so a quick token answer can land after the registry
  // retry it enabled. Sequence rules read requests in the order they started; evidence keeps each
  // entry's own position. Only when every entry has a start time (other tools' HARs may not).
  bool const timed = std::all_of(facts.begin(), facts.end(),
                                 [](entry_facts const& f) { return f.x->started.time_since_epoch().count() != 0; });
  if (timed)
    std::stable_sort(facts.begin(), facts.end(),
                     [](entry_facts const& a, entry_facts const& b) { return a.x->started < b.x->started; });
  return facts;
}

std::string describe(entry_facts const& e) {
  exchange const& x = *e.x;
  std::string line = x.method.empty() ? std::string(to_string(x.kind)) : x.method;
  line += ' ';
  line += x.kind == entry_kind::exchange ? x.url() : x.authority();
  line += " → ";
  if (x.status != 0) {
    line += std::to_string(x.status);
    if (auto const& code = e.error_code(); !code.empty()) {
      line += ' ';
      line += code;
    }
  } else if (x.failure) {
    line += "no response (";
    line += to_string(x.failure->where);
    line += ')';
  } else {
    line += "no response";
  }
  return line;
}

evidence_item evidence_of(entry_facts const& e, std::string_view note) {
  evidence_item item{e.index, describe(e)};
  if (!note.empty()) {
    item.detail += "; ";
    item.detail += note;
  }
  return item;
}

std::string error_message(entry_facts const& e) {
  for (auto const& err : e.error.errors)
    if (!err.message.empty()) return err.message;
  return e.error.message;
}

finding make_finding(catalog_entry const& entry, std::string explanation, std::vector<evidence_item> items) {
  return finding{std::string(entry.id),          std::string(entry.name),        entry.level,
                 std::string(entry.title),       std::move(explanation),         std::string(entry.client_error),
                 std::string(entry.remediation), std::move(items)};
}

double seconds_between(entry_facts const& a, entry_facts const& b) {
  return std::chrono::duration<double>(b.x->started - a.x->started).count();
}

double ms_to_headers(exchange const& x) {
  double total = 0;
  for (double part : {x.timings.blocked, x.timings.dns, x.timings.connect, x.timings.send, x.timings.wait})
    if (part > 0) total += part;
  return total;
}

std::string host_of(exchange const& x) {
  return to_lower(x.host);
}

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::int64_t epoch_seconds(exchange const& x) {
  return std::chrono::duration_cast<std::chrono::seconds>(x.started.time_since_epoch()).count();
}

std::string_view query_of(std::string_view target) {
  auto const question = target.find('?');
  return question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string response_headers_text(entry_facts const& e, std::initializer_list<std::string_view> names) {
  std::string text;
  for (std::string_view name : names)
    if (auto const* value = e.response_header(name))
      text += (text.empty() ? "" : ", ") + std::string(name) + ": " + *value;
  return text;
}

std::optional<leading_integer> read_leading_integer(std::string_view text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return std::nullopt;
  text.remove_prefix(prefix.size());
  leading_integer n;
  auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n.value);
  if (ec != std::errc{}) return std::nullopt;
  n.rest = text.substr(static_cast<std::size_t>(end - text.data()));
  return n;
}

void run_rules(std::span<rule const> rules, facts_span trace, std::vector<finding>& out) {
  for (rule const r : rules) r(trace, out);
}

}  // namespace detail

namespace {

// The rule groups' findings, one per ID and cause, their counts not stated yet.
std::vector<finding> findings_by_cause(std::span<exchange const> entries, std::size_t first_index,
                                       bool trace_complete) {
  auto const facts = detail::analyse(entries, first_index, trace_complete);
  static constexpr detail::rule groups[] = {
      detail::transport_rules, detail::transport_answer_rules, detail::auth_rules,  detail::api_rules,
      detail::redirect_rules,  detail::vendor_rules,           detail::replay_rules,
      detail::transport_stop_rules, detail::transport_bypass_rules};
  std::vector<finding> out;
  detail::run_rules(groups, facts, out);
  detail::merge_by_cause(out, entries, first_index);
  return out;
}

finding stated(finding f) {
  detail::state_count(f);
  return f;
}

// A cause's finding from before and the window's judgement of it: what of the old one lies before the
// window (no rule sees it any more) joins the new one.
finding with_history(finding const& old, finding now, std::size_t window_first) {
  if (old.seen_on.empty() || old.seen_on.front() >= window_first) return now;
  finding before = old;
  auto const in_window = [&](std::size_t entry) { return entry >= window_first; };
  std::erase_if(before.evidence, [&](evidence_item const& item) { return in_window(item.entry); });
  std::erase_if(before.seen_on, in_window);
  std::erase_if(before.recovered_on, in_window);
  detail::combine(before, std::move(now));
  return before;
}

}  // namespace

std::vector<finding> diagnose(std::span<exchange const> entries, std::size_t first_index,
                              bool trace_complete) {
  auto out = findings_by_cause(entries, first_index, trace_complete);
  for (auto& f : out) detail::state_count(f);
  sort_by_severity(out);
  return out;
}

live_diagnostics::news live_diagnostics::add(exchange x, std::size_t index) {
  push(std::move(x), index);
  return conclude();
}

void live_diagnostics::push(exchange x, std::size_t index) {
  if (window_.empty()) window_first_index_ = index;
  window_text_bytes_ += x.request_body.text.size() + x.response_body.text.size();
  window_.push_back(std::move(x));
  std::size_t drop = 0;
  while (window_.size() - drop > limits_.max_entries ||
         (window_.size() - drop > 1 && window_text_bytes_ > limits_.max_text_bytes)) {
    auto const& oldest = window_[drop++];
    window_text_bytes_ -= oldest.request_body.text.size() + oldest.response_body.text.size();
  }
  // Moves, not copies: dropping from the front of a few hundred entries is cheap.
  window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(drop));
  window_first_index_ += drop;
}

live_diagnostics::news live_diagnostics::conclude(bool trace_complete) {
  news out;
  if (window_.empty()) return out;
  for (auto& f : findings_by_cause(window_, window_first_index_, trace_complete)) {
    auto key = std::pair{f.id, f.cause};
    auto const known = causes_.find(key);
    finding now = known == causes_.end() ? std::move(f)
                                         : with_history(known->second, std::move(f), window_first_index_);
    // A storm of one failure stays one finding of bounded size; the count goes on in seen_on.
    if (now.evidence.size() > limits_.max_evidence) now.evidence.resize(limits_.max_evidence);
    if (known == causes_.end()) {
      out.fresh.push_back(stated(now));
      causes_.emplace(std::move(key), std::move(now));
    } else if (now != known->second) {
      out.grown.push_back(stated(now));
      known->second = std::move(now);
    }
  }
  sort_by_severity(out.fresh);
  sort_by_severity(out.grown);
  return out;
}

std::vector<finding> live_diagnostics::findings() const {
  std::vector<finding> all;
  all.reserve(causes_.size());
  for (auto const& [key, f] : causes_) all.push_back(stated(f));
  sort_by_severity(all);
  return all;
}

}  // namespace regtrace::capture::rules
