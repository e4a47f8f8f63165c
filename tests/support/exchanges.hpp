#pragma once
// The one set of builders for hand-written exchanges in the unit tests (SPEC §5: the rules are
// unit-tested on hand-written exchanges): a fixed clock, kept text bodies, a request by host and
// target or by URL, the registry's headers, and the redacted copy regtrace would write.

#include "capture/body/body_recorder.hpp"
#include "capture/model/exchange.hpp"
#include "capture/redaction/redaction.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regtrace::capture::test {

/// 2026-11-27 21:56:37 UTC plus offset_ms: when the hand-written traces are recorded.
inline std::chrono::system_clock::time_point trace_time(std::int64_t offset_ms = 0) {
  using namespace std::chrono;
  return sys_days{year{2026} / 11 / 27} + hours{21} + minutes{56} + seconds{37} + milliseconds{offset_ms};
}

/// A kept text body, as the recorder keeps one: bytes, SHA-256 (none for an empty body) and text.
inline body_record text_body(std::string text) {
  body_record body;
  body.bytes = text.size();
  body.sha256 = text.empty() ? std::string{} : sha256_hex(text);
  body.text = std::move(text);
  body.text_kept = true;
  return body;
}

/// One exchange from the test client (127.0.0.1:40000): method, host and target as written (a path
/// with its query, or a CONNECT authority), answered with status (0: no answer yet).
inline exchange exchange_to(std::string method, std::string host, std::string target, int status = 0) {
  exchange x;
  x.method = std::move(method);
  x.host = std::move(host);
  x.target = std::move(target);
  x.client_address = "127.0.0.1:40000";
  x.status = status;
  return x;
}

/// The same from an absolute URL (scheme, host, port and target as set_url reads them), with the
/// request and response headers.
inline exchange make_exchange(std::string method, std::string_view url, int status,
                              header_list request_headers = {}, header_list response_headers = {}) {
  auto x = exchange_to(std::move(method), {}, {}, status);
  set_url(x, url);
  x.request_headers = std::move(request_headers);
  x.response_headers = std::move(response_headers);
  return x;
}

/// A request to the test registry, host:5443 (registry.test unless named), answered with status.
inline exchange registry_exchange(std::string method, std::string target, int status,
                                  std::string host = "registry.test") {
  auto x = exchange_to(std::move(method), std::move(host), std::move(target), status);
  x.port = 5443;
  return x;
}

/// extra, then the header every registry answer carries (Docker-Distribution-Api-Version).
inline header_list registry_headers(header_list extra = {}) {
  extra.push_back({"Docker-Distribution-Api-Version", "registry/2.0"});
  return extra;
}

/// x with a kept response body and its Content-Type header.
inline exchange with_response(exchange x, std::string text, std::string content_type = "application/json") {
  x.response_headers.push_back({"Content-Type", std::move(content_type)});
  x.response_body = text_body(std::move(text));
  return x;
}

/// x with a kept request body and its Content-Type header.
inline exchange with_request(exchange x, std::string text,
                             std::string content_type = "application/x-www-form-urlencoded") {
  x.request_headers.push_back({"Content-Type", std::move(content_type)});
  x.request_body = text_body(std::move(text));
  return x;
}

/// The entries in order, started step_ms apart from trace_time(), as one client would send them.
inline std::vector<exchange> sequence(std::vector<exchange> entries, std::int64_t step_ms = 100) {
  for (std::size_t i = 0; i < entries.size(); ++i)
    entries[i].started = trace_time(static_cast<std::int64_t>(i) * step_ms);
  return entries;
}

/// x as regtrace writes it into the trace.
inline exchange redacted(exchange x) {
  redact(x);
  return x;
}

/// The trace as regtrace writes it.
inline std::vector<exchange> redacted(std::vector<exchange> trace) {
  for (auto& x : trace) redact(x);
  return trace;
}

}  // namespace regtrace::capture::test
