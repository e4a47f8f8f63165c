#pragma once
// Header-field helpers shared by the relay, the replay responder and the registry client: hop-by-hop
// fields, the recorded header list and response head, whether a body is kept as text.

#include "capture/body/body_recorder.hpp"
#include "capture/model/exchange.hpp"
#include "capture/text/ascii.hpp"
#include "proxy/io/net.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace regtrace::proxy {

// RFC 9110 §7.6.1: Connection, the fields it names, and the classic hop-by-hop fields belong to one
// leg only. Transfer-Encoding stays: the serializer frames the body by it on the next leg.
template <class Fields>
void strip_hop_by_hop(Fields& fields) {
  std::vector<std::string> named;
  auto [first, last] = fields.equal_range(http::field::connection);
  for (auto it = first; it != last; ++it) {
    std::string_view value = it->value();
    while (!value.empty()) {
      auto comma = value.find(',');
      auto const token = capture::trim_ows(value.substr(0, comma));
      if (!token.empty()) named.emplace_back(token);
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
  }
  for (auto const& name : named) {
    if (!capture::iequals(name, "transfer-encoding") && !capture::iequals(name, "content-length"))
      fields.erase(name);
  }
  fields.erase(http::field::connection);
  fields.erase(http::field::keep_alive);
  fields.erase("Proxy-Connection");
  fields.erase(http::field::te);
  fields.erase(http::field::upgrade);
}

template <class Fields>
capture::header_list header_list_of(Fields const& fields) {
  capture::header_list headers;
  for (auto const& field : fields)
    headers.push_back({std::string(field.name_string()), std::string(field.value())});
  return headers;
}

/// Fills the response head of record from a response: status, reason, headers as sent (in order).
template <class Response>
void record_response_head(capture::exchange& record, Response const& response) {
  record.status = response.result_int();
  record.reason = std::string(response.reason());
  record.response_headers = header_list_of(response);
}

// Text bodies are kept up to the limit (SPEC §4); a content-encoded body is bytes, not text.
template <class Fields>
bool keeps_text(Fields const& fields) {
  auto encoding = fields[http::field::content_encoding];
  return capture::is_text_media_type(fields[http::field::content_type]) &&
         (encoding.empty() || capture::iequals(encoding, "identity"));
}

inline std::string version_text(unsigned version) {
  return version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

}  // namespace regtrace::proxy
