#include "capture/har/har_entry_reader.hpp"

#include "capture/body/body_recorder.hpp"
#include "capture/text/base64.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>

namespace regtrace::capture::detail {
namespace {

using nlohmann::json;

json const* member(json const& j, char const* key) {
  if (!j.is_object()) return nullptr;
  auto const it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string get_string(json const& j, char const* key, std::string fallback = {}) {
  auto const* v = member(j, key);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

/// A number, or a string holding one: some exporters write timings and sizes as "12.5".
std::optional<double> number_of(json const* v) {
  if (!v) return std::nullopt;
  if (v->is_number()) return v->get<double>();  // JSON has no NaN or infinity
  if (!v->is_string()) return std::nullopt;
  auto const& text = v->get_ref<std::string const&>();
  double value = 0;
  auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

double get_number(json const& j, char const* key, double fallback) {
  return number_of(member(j, key)).value_or(fallback);
}

// An error code's value as recorded; one outside int's range (a hostile file) is no code: 0.
int code_value_of(double value) {
  return value >= -2147483648.0 && value <= 2147483647.0 ? static_cast<int>(value) : 0;
}

std::uint64_t get_count(json const& j, char const* key, std::uint64_t fallback = 0) {
  auto const* v = member(j, key);
  if (v && v->is_number_unsigned()) return v->get<std::uint64_t>();
  // 1.8e19 is below 2^64: larger values would not convert (undefined behaviour), so they count as absent.
  if (auto const value = number_of(v); value && *value >= 0 && *value < 1.8e19)
    return static_cast<std::uint64_t>(*value);
  return fallback;
}

bool get_bool(json const& j, char const* key, bool fallback = false) {
  auto const* v = member(j, key);
  return v && v->is_boolean() ? v->get<bool>() : fallback;
}

header_list read_headers(json const& j) {
  header_list out;
  auto const* headers = member(j, "headers");
  if (!headers || !headers->is_array()) return out;
  for (auto const& h : *headers) {
    if (h.is_object()) out.push_back({get_string(h, "name"), get_string(h, "value")});
  }
  return out;
}

std::uint64_t parse_digits(std::string_view s) {
  std::uint64_t value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  return value;
}

/// "2026-11-27T21:56:37.123Z" or with an offset ("+01:00"); HAR 1.2 allows any ISO 8601 date-time.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string const& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(text).substr(static_cast<std::size_t>(consumed));
  std::chrono::nanoseconds fraction{0};
  if (!rest.empty() && (rest.front() == '.' || rest.front() == ',')) {
    rest.remove_prefix(1);
    std::int64_t scale = 100'000'000;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      fraction += std::chrono::nanoseconds((rest.front() - '0') * scale);
      scale /= 10;
      rest.remove_prefix(1);
    }
  }
  std::chrono::minutes offset{0};
  if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
    int const sign = rest.front() == '-' ? -1 : 1;
    std::string digits;
    for (char c : rest.substr(1)) {
      if (c >= '0' && c <= '9') digits += c;
    }
    if (digits.size() != 4) return std::nullopt;
    offset = std::chrono::minutes(sign * (std::stoi(digits.substr(0, 2)) * 60 + std::stoi(digits.substr(2))));
  }
  std::chrono::year_month_day const date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  // system_clock counts nanoseconds in 64 bits: years outside about 1678..2262 would overflow it.
  if (!date.ok() || year < 1700 || year > 2200) return std::nullopt;
  auto const t = std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
                 std::chrono::seconds{second} + fraction - offset;
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(t);
}

tls_leg read_tls(json const& j) {
  tls_leg leg{
      .version = get_string(j, "version"),
      .cipher = get_string(j, "cipher"),
      .alpn = get_string(j, "alpn"),
      .sni = get_string(j, "sni"),
      .session_resumed = get_bool(j, "session_resumed"),
      .verified = get_bool(j, "verified"),
      .verify_error = get_string(j, "verify_error"),
      .peer_chain = {},
  };
  if (auto const* chain = member(j, "peer_chain"); chain && chain->is_array()) {
    for (auto const& c : *chain) {
      if (c.is_string()) leg.peer_chain.push_back(c.get<std::string>());
    }
  }
  return leg;
}

/// A body from HAR text (postData.text or content.text) plus regtrace's record of it when present.
/// size: what the HAR says the body's size is, or -1.
body_record read_body(json const* text_holder, std::string const& mime, double size, json const* recorded,
                      std::size_t index, std::vector<std::string>& warnings) {
  body_record body;
  std::string bytes_seen;
  bool have_bytes = false;
  auto const* text_value = text_holder ? member(*text_holder, "text") : nullptr;
  if (text_value && text_value->is_string()) {
    auto const text = text_value->get<std::string>();
    if (get_string(*text_holder, "encoding") == "base64") {
      if (auto decoded = base64_decode(text)) {
        bytes_seen = std::move(*decoded);
        have_bytes = true;
        if (is_text_media_type(mime)) body.text = bytes_seen;
      } else {
        warnings.push_back("entry " + std::to_string(index) +
                           " has base64 content that does not decode; ignored it");
      }
    } else {
      bytes_seen = text;
      have_bytes = true;
      body.text = text;
    }
  }
  body.text_kept = !body.text.empty();
  if (recorded && recorded->is_object()) {
    body.bytes = get_count(*recorded, "bytes");
    body.sha256 = get_string(*recorded, "sha256");
    body.complete = get_bool(*recorded, "complete", true);
    body.text_truncated = get_bool(*recorded, "text_truncated");
    return body;
  }
  // Beyond 2^64 no count converts (undefined behaviour): such a size is no size.
  body.bytes = size >= 0 && size < 1.8e19 ? static_cast<std::uint64_t>(size) : bytes_seen.size();
  if (have_bytes && !bytes_seen.empty() && bytes_seen.size() == body.bytes)
    body.sha256 = sha256_hex(bytes_seen);
  body.text_truncated = body.text_kept && body.text.size() < body.bytes;
  return body;
}

void read_regtrace(json const& r, exchange& x, std::size_t index, std::vector<std::string>& warnings) {
  if (auto kind = entry_kind_from_string(get_string(r, "kind", "exchange"))) x.kind = *kind;
  x.connection_id = get_count(r, "connection_id");
  x.request_index = get_count(r, "request_index");
  x.upstream_connection_id = get_count(r, "upstream_connection_id");
  x.upstream_reused = get_bool(r, "upstream_reused");
  x.client_address = get_string(r, "client_address");
  x.generated_response = get_bool(r, "generated_response");
  x.insecure_upstream = get_bool(r, "insecure_upstream");
  x.upstream_proxy = get_string(r, "upstream_proxy");
  x.unparsed_hex = get_string(r, "unparsed_hex");
  if (auto const* leg = member(r, "client_tls"); leg && leg->is_object()) x.client_tls = read_tls(*leg);
  if (auto const* leg = member(r, "upstream_tls"); leg && leg->is_object()) x.upstream_tls = read_tls(*leg);
  if (auto const* f = member(r, "failure"); f && f->is_object()) {
    auto const where = phase_from_string(get_string(*f, "phase"));
    if (!where) warnings.push_back("entry " + std::to_string(index) + " names an unknown failure phase");
    x.failure = failure_record{
        .where = where.value_or(phase::capture),
        .code_category = get_string(*f, "category"),
        .code_value = code_value_of(get_number(*f, "value", 0)),
        .message = get_string(*f, "message"),
        .detail = get_string(*f, "detail"),
        .peer = failing_peer_from_string(get_string(*f, "peer")),
    };
  }
  if (auto const* from = member(r, "replayed_from"); from && from->is_number_unsigned())
    x.replayed_from = from->get<std::uint64_t>();
  if (auto const* ids = member(r, "findings"); ids && ids->is_array()) {
    for (auto const& id : *ids) {
      if (id.is_string()) x.finding_ids.push_back(id.get<std::string>());
    }
  }
}

// The request line, headers and body. rt: the entry's _regtrace object, or nullptr.
void read_request(json const& request, json const* rt, exchange& x, std::size_t index,
                  std::vector<std::string>& warnings) {
  x.method = get_string(request, "method");
  if (!set_url(x, get_string(request, "url"))) {
    warnings.push_back("entry " + std::to_string(index) + " has a URL that is not absolute: \"" +
                       get_string(request, "url") + "\"");
  }
  x.http_version = get_string(request, "httpVersion", "HTTP/1.1");
  x.request_headers = read_headers(request);
  auto const* post = member(request, "postData");
  auto const request_type = post ? get_string(*post, "mimeType") : std::string();
  x.request_body = read_body(post, request_type, get_number(request, "bodySize", -1),
                             rt ? member(*rt, "request_body") : nullptr, index, warnings);
}

// The status, headers and body, and Chrome's _error for a request that got no response.
void read_response(json const& response, json const* rt, exchange& x, std::size_t index,
                   std::vector<std::string>& warnings) {
  // Anything outside 0..999 is no HTTP status; it must not reach the int conversion either.
  if (auto const status = get_number(response, "status", 0); status >= 0 && status <= 999)
    x.status = static_cast<int>(status);
  x.reason = get_string(response, "statusText");
  x.response_http_version = get_string(response, "httpVersion", "HTTP/1.1");
  x.response_headers = read_headers(response);
  auto const* content = member(response, "content");
  auto const response_type = content ? get_string(*content, "mimeType") : std::string();
  double size = content ? get_number(*content, "size", -1) : -1;
  if (size < 0) size = get_number(response, "bodySize", -1);
  x.response_body =
      read_body(content, response_type, size, rt ? member(*rt, "response_body") : nullptr, index, warnings);
  if (auto const error = get_string(response, "_error"); !error.empty() && !x.failure) {
    // Chrome's way of saying the request failed without a response ("net::ERR_CONNECTION_RESET").
    x.failure = failure_record{.where = phase::response_relay,
                               .code_category = "har",
                               .code_value = 0,
                               .message = error,
                               .detail = "from the entry's _error field",
                               .peer = failing_peer::unknown};
  }
}

void read_timings(json const& entry, exchange& x) {
  if (auto const* t = member(entry, "timings"); t && t->is_object()) {
    x.timings = timings_ms{
        .blocked = get_number(*t, "blocked", -1),
        .dns = get_number(*t, "dns", -1),
        .connect = get_number(*t, "connect", -1),
        .ssl = get_number(*t, "ssl", -1),
        .send = get_number(*t, "send", 0),
        .wait = get_number(*t, "wait", 0),
        .receive = get_number(*t, "receive", 0),
    };
  } else if (auto const time = get_number(entry, "time", -1); time >= 0) {
    // No timings (HAR 1.1 exporters): the total time alone still places the entry on a timeline.
    x.timings.wait = time;
  }
}

}  // namespace

std::optional<exchange> exchange_from_har_entry(json const& entry, std::size_t index,
                                                std::vector<std::string>& warnings) {
  auto const where = "entry " + std::to_string(index);
  auto const* request = member(entry, "request");
  if (!request || !request->is_object()) {
    warnings.push_back(where + " has no request; skipped it");
    return std::nullopt;
  }
  exchange x;
  auto const* rt = member(entry, "_regtrace");
  if (rt && !rt->is_object()) rt = nullptr;
  if (rt) read_regtrace(*rt, x, index, warnings);

  if (auto started = parse_iso8601(get_string(entry, "startedDateTime"))) {
    x.started = *started;
  } else {
    warnings.push_back(where + " has no readable startedDateTime");
  }
  read_request(*request, rt, x, index, warnings);
  if (auto const* response = member(entry, "response"); response && response->is_object()) {
    read_response(*response, rt, x, index, warnings);
  } else {
    warnings.push_back(where + " has no response; kept the request");
  }
  read_timings(entry, x);
  x.server_ip = get_string(entry, "serverIPAddress");
  if (!rt) {
    // regtrace writes "c42"; Chrome writes the socket id as a bare number.
    auto connection = get_string(entry, "connection");
    if (connection.starts_with('c')) connection.erase(0, 1);
    x.connection_id = parse_digits(connection);
  }
  return x;
}

}  // namespace regtrace::capture::detail
