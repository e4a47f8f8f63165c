#pragma once
// Builders for the hand-written traces of the rules tests (SPEC §5: rules are unit-tested on
// hand-written exchanges).

#include "capture/body/body_recorder.hpp"
#include "capture/model/exchange.hpp"
#include "capture/rules/finding.hpp"
#include "capture/rules/rules.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::test {

/// 2026-11-27 21:56:37 UTC plus offset_ms.
inline std::chrono::system_clock::time_point rules_time(std::int64_t offset_ms = 0) {
  using namespace std::chrono;
  return sys_days{year{2026} / 11 / 27} + hours{21} + minutes{56} + seconds{37} + milliseconds{offset_ms};
}

/// One exchange from 127.0.0.1: method, absolute URL, status, request and response headers.
inline exchange make_exchange(std::string method, std::string_view url, int status,
                              header_list request_headers = {}, header_list response_headers = {}) {
  exchange x;
  x.method = std::move(method);
  set_url(x, url);
  x.client_address = "127.0.0.1:40000";
  x.status = status;
  x.request_headers = std::move(request_headers);
  x.response_headers = std::move(response_headers);
  return x;
}

/// A kept text body.
inline body_record text_record(std::string text) {
  body_record body;
  body.bytes = text.size();
  body.sha256 = text.empty() ? std::string{} : sha256_hex(text);
  body.text = std::move(text);
  body.text_kept = true;
  return body;
}

/// x with a kept response body and its Content-Type header.
inline exchange with_response(exchange x, std::string text, std::string content_type = "application/json") {
  x.response_headers.push_back({"Content-Type", std::move(content_type)});
  x.response_body = text_record(std::move(text));
  return x;
}

/// x with a kept request body and its Content-Type header.
inline exchange with_request(exchange x, std::string text,
                             std::string content_type = "application/x-www-form-urlencoded") {
  x.request_headers.push_back({"Content-Type", std::move(content_type)});
  x.request_body = text_record(std::move(text));
  return x;
}

/// The entries in order, started 100 ms apart (step_ms), as one client would send them.
inline std::vector<exchange> sequence(std::vector<exchange> entries, std::int64_t step_ms = 100) {
  for (std::size_t i = 0; i < entries.size(); ++i)
    entries[i].started = rules_time(static_cast<std::int64_t>(i) * step_ms);
  return entries;
}

/// The findings with this catalog ID.
inline std::vector<rules::finding> with_id(std::vector<rules::finding> const& all,
                                              std::string_view id) {
  std::vector<rules::finding> out;
  for (auto const& f : all)
    if (f.id == id) out.push_back(f);
  return out;
}

/// The findings whose ID starts with one of the prefixes ("B-", "D-") at or above level.
inline std::vector<rules::finding> at_least(std::vector<rules::finding> const& all,
                                               rules::severity level,
                                               std::vector<std::string_view> prefixes) {
  std::vector<rules::finding> out;
  for (auto const& f : all)
    for (auto p : prefixes)
      if (f.id.starts_with(p) && f.level >= level) out.push_back(f);
  return out;
}

/// What the proxy's trace writer would report live: each entry added in turn, fresh findings kept.
inline std::vector<rules::finding> live_findings(std::vector<exchange> const& trace) {
  rules::live_diagnostics live;
  std::vector<rules::finding> out;
  for (std::size_t i = 0; i < trace.size(); ++i)
    for (auto& f : live.add(trace[i], i)) out.push_back(std::move(f));
  return out;
}

/// The entry indexes of a finding's evidence, in order.
inline std::vector<std::size_t> evidence_entries(rules::finding const& f) {
  std::vector<std::size_t> out;
  for (auto const& e : f.evidence) out.push_back(e.entry);
  return out;
}

}  // namespace regtrace::capture::test
