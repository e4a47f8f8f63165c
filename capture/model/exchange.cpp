#include "capture/model/exchange.hpp"

#include "capture/model/name_table.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/url.hpp"

namespace regtrace::capture {
namespace {

constexpr name_table<entry_kind, 4> kind_names{{
    {entry_kind::exchange, "exchange"},
    {entry_kind::tunnel, "tunnel"},
    {entry_kind::connect_failed, "connect_failed"},
    {entry_kind::client_tls_rejected, "client_tls_rejected"},
}};

}  // namespace

std::string_view to_string(entry_kind k) {
  return name_of(kind_names, k, "exchange");
}

std::optional<entry_kind> entry_kind_from_string(std::string_view name) {
  return value_of(kind_names, name);
}

std::string exchange::authority() const {
  // RFC 3986 §3.2.2: an IPv6 literal is written in brackets.
  bool const ipv6 = host.find(':') != std::string::npos && !host.starts_with('[');
  std::string out = ipv6 ? "[" + host + "]" : host;
  bool const default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  if (!default_port) out += ":" + std::to_string(port);
  return out;
}

std::string exchange::url() const {
  std::string out = scheme + "://" + authority();
  // A CONNECT or asterisk-form target is not a path; such entries get the root path.
  if (target.starts_with('/')) {
    out += target;
  } else {
    out += '/';
  }
  return out;
}

double exchange::total_ms() const {
  // HAR 1.2: ssl is already counted inside connect, so adding it would count it twice.
  double total = 0;
  for (double part :
       {timings.blocked, timings.dns, timings.connect, timings.send, timings.wait, timings.receive}) {
    if (part > 0) total += part;
  }
  return total;
}

std::string const* find_header(header_list const& headers, std::string_view name) {
  for (auto const& field : headers) {
    if (iequals(field.name, name)) return &field.value;
  }
  return nullptr;
}

bool failed_with(exchange const& x, errc code) {
  return x.failure && x.failure->code_category == category().name() &&
         x.failure->code_value == static_cast<int>(code);
}

bool set_url(exchange& x, std::string_view url) {
  auto location = parse_url(url);
  if (!location) return false;
  x.scheme = std::move(location->scheme);
  x.host = std::move(location->host);
  x.port = location->port;
  x.target = std::move(location->target);
  return true;
}

}  // namespace regtrace::capture
