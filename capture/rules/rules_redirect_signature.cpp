// Catalog §3 group D, what object storage says about a pre-signed URL it refused: expired (D-02) or
// a signature that does not match (D-03), with the URL's own expiry and how the request differs from
// the Location the registry sent.
#include "capture/redaction/redaction.hpp"
#include "capture/rules/rules_redirect_flow.hpp"
#include "capture/text/ascii.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>

namespace regtrace::capture::rules::detail {
namespace {

// clang-format off
constexpr catalog_entry d02{"D-02", "REDIRECT_SIGNED_URL_EXPIRED", severity::error,
    "The pre-signed storage URL had expired when it was used",
    "403 from storage: \"Request has expired\" (S3) or \"Signature not valid in the specified time frame\" (Azure)",
    "Ask the registry for the blob again instead of reusing an old redirect URL, check NTP on client and "
    "registry hosts, and for self-hosted registries review how the signer refreshes its credentials."};
constexpr catalog_entry d03{"D-03", "REDIRECT_SIGNATURE_MISMATCH", severity::error,
    "Storage says the URL signature does not match",
    "403 from storage: SignatureDoesNotMatch (S3) or \"Signature did not match\" (Azure)",
    "Send the redirect URL exactly as received (no re-encoding or reordering of the query) and no extra "
    "signed headers such as Content-Type on a GET; proxies in the path must not normalise query strings."};
// clang-format on

// How the request differs from the Location byte for byte, ignoring values only one side had
// redacted; "" when it is the same. Values are not quoted: they may be signatures.
std::string alteration(exchange const& location, exchange const& x) {
  if (location.target == x.target) return {};
  auto const path_a = path_of(location.target);
  auto const path_b = path_of(x.target);
  if (path_a != path_b) return "the path was sent as " + quoted(path_b) + " instead of " + quoted(path_a);
  auto const a = split_query(query_of(location.target));
  auto const b = split_query(query_of(x.target));
  if (a.size() != b.size())
    return "the query has " + std::to_string(b.size()) + " parameters instead of " + std::to_string(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key)
      return "the query parameters were reordered or renamed (" + quoted(b[i].key) +
             " where the Location has " + quoted(a[i].key) + ")";
    if (a[i].value != b[i].value && !is_redaction_marker(a[i].value) && !is_redaction_marker(b[i].value))
      return "the value of " + quoted(a[i].key) + " was re-encoded or changed";
  }
  return {};
}

// "YYYY-MM-DDTHH:MM:SSZ", "YYYY-MM-DD" (Azure se=) or "YYYYMMDDTHHMMSSZ" (X-Amz-Date), UTC.
std::optional<std::int64_t> parse_utc(std::string_view text) {
  std::string digits;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char const c = text[i];
    if (c == '.' || c == 'Z' || c == '+' || (c == '-' && digits.size() >= 8)) break;  // fraction or zone
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.size() != 8 && digits.size() != 14) return std::nullopt;
  auto number = [&](std::size_t at, std::size_t n) { return std::stoi(digits.substr(at, n)); };
  using namespace std::chrono;
  year_month_day const day{year{number(0, 4)}, month{static_cast<unsigned>(number(4, 2))},
                           std::chrono::day{static_cast<unsigned>(number(6, 2))}};
  if (!day.ok()) return std::nullopt;
  std::int64_t seconds = duration_cast<std::chrono::seconds>(sys_days{day}.time_since_epoch()).count();
  if (digits.size() == 14) seconds += number(8, 2) * 3600 + number(10, 2) * 60 + number(12, 2);
  return seconds;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (text.empty() || text.size() > 18 ||
      !std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(std::string(text));
}

// "Sat, 28 Nov 2026 00:12:34 GMT" (RFC 9110 §5.6.7 IMF-fixdate).
std::optional<std::int64_t> parse_http_date(std::string_view text) {
  constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto const comma = text.find(", ");
  if (comma == std::string_view::npos || text.size() < comma + 22) return std::nullopt;
  auto const rest = text.substr(comma + 2);
  auto const month = std::ranges::find(months, rest.substr(3, 3));
  if (month == months.end()) return std::nullopt;
  auto const index = static_cast<int>(month - months.begin()) + 1;
  std::string const iso = std::string(rest.substr(7, 4)) + (index < 10 ? "0" : "") + std::to_string(index) +
                          std::string(rest.substr(0, 2)) + std::string(rest.substr(12, 8));
  return parse_utc(iso);
}

// The expiry a pre-signed URL states (catalog §7.1): Azure se=, S3/GCS date + expires, or Expires=.
std::optional<std::int64_t> url_expiry(std::string_view target, std::string& source) {
  std::optional<std::int64_t> signed_at;
  std::optional<std::int64_t> lifetime;
  std::string date_text;
  std::string lifetime_text;
  for (auto const& p : split_query(query_of(target))) {
    auto const key = percent_decode(p.key);
    auto const value = percent_decode(p.value);
    if (key == "se") {
      source = "se=" + value;
      return parse_utc(value);
    }
    if (key == "Expires") {
      source = "Expires=" + value;
      return parse_integer(value);
    }
    if (iequals(key, "X-Amz-Date") || iequals(key, "X-Goog-Date")) {
      signed_at = parse_utc(value);
      date_text = key + "=" + value;
    }
    if (iequals(key, "X-Amz-Expires") || iequals(key, "X-Goog-Expires")) {
      lifetime = parse_integer(value);
      lifetime_text = key + "=" + value;
    }
  }
  if (!signed_at || !lifetime) return std::nullopt;
  source = date_text + " + " + lifetime_text;
  return *signed_at + *lifetime;
}

// The text of <name>...</name> in an XML error body, "" when absent (Azure's
// AuthenticationErrorDetail, S3's Expires and ServerTime).
std::string xml_element(std::string_view body, std::string_view name) {
  auto const open = "<" + std::string(name) + ">";
  auto const begin = body.find(open);
  if (begin == std::string_view::npos) return {};
  auto const text = body.substr(begin + open.size());
  auto const end = text.find("</");
  return end == std::string_view::npos ? std::string{}
                                       : std::string(text.substr(0, std::min<std::size_t>(end, 300)));
}

// How storage refused a pre-signed URL, in S3's and Azure's codes and words.
enum class signature_refusal { none, expired, mismatch };

signature_refusal refusal_of(entry_facts const& e) {
  exchange const& x = *e.x;
  if (x.status != 403 && x.status != 400) return signature_refusal::none;
  auto const& code = e.error_code();
  auto const& body = x.response_body.text;
  bool const expired =
      x.status == 403 &&
      ((iequals(code, "AuthenticationFailed") && (icontains(body, "not valid in the specified time frame") ||
                                                  icontains(body, "Signed expiry time"))) ||
       (iequals(code, "AccessDenied") && icontains(body, "Request has expired")));
  if (expired) return signature_refusal::expired;
  bool const mismatch =
      iequals(code, "SignatureDoesNotMatch") ||
      (iequals(code, "AuthenticationFailed") &&
       (icontains(body, "Signature did not match") || icontains(body, "Signature fields not well formed")));
  return mismatch ? signature_refusal::mismatch : signature_refusal::none;
}

// What the URL's own expiry says against the request time, and against storage's clock; "" when the
// URL states none.
std::string expiry_text(entry_facts const& e) {
  std::string source;
  auto const expiry = url_expiry(e.x->target, source);
  if (!expiry) return {};
  auto const delta = epoch_seconds(*e.x) - *expiry;
  std::string text = " The URL's expiry (" + source + ") is " + std::to_string(delta < 0 ? -delta : delta) +
                     " s " + (delta >= 0 ? "before" : "after") + " the request time";
  if (auto const* date = e.response_header("Date"))
    if (auto const server = parse_http_date(*date))
      text += " (storage's clock: " + std::to_string(*server - *expiry) + " s past expiry)";
  text += delta >= 0 ? "." : ": by the recording clock it was still valid, so the clocks disagree.";
  return text;
}

// D-02: storage refused the pre-signed URL as expired.
void url_expired(facts_span trace, entry_facts const& e, redirect const* r, std::string const& answer,
                 std::vector<evidence_item> items, std::vector<finding>& out) {
  auto const& body = e.x->response_body.text;
  std::string explanation = "Storage refused the pre-signed URL as expired: " + answer + "." + expiry_text(e);
  if (auto const expires = xml_element(body, "Expires"), server = xml_element(body, "ServerTime");
      !expires.empty() && !server.empty())
    explanation += " S3 says it expired at " + expires + ", its time is " + server + ".";
  if (r) {
    auto const waited = static_cast<std::int64_t>(seconds_between(trace[r->from], e));
    explanation += waited < 1 ? " The client used the URL right after the registry handed it out."
                              : " The client used the URL " + std::to_string(waited) +
                                    " s after the registry handed it out.";
  }
  out.push_back(make_finding(d02, std::move(explanation), std::move(items)));
}

// D-03: storage says the signature does not match; how the request differs from what was signed.
void signature_mismatch(entry_facts const& e, redirect const* r, std::string const& answer,
                        std::vector<evidence_item> items, std::vector<finding>& out) {
  exchange const& x = *e.x;
  auto f = make_finding(d03, "Storage says the signature does not match: " + answer + ".", std::move(items));
  if (r) {
    if (auto const change = alteration(r->target, x); !change.empty()) {
      f.level = severity::critical;
      f.explanation += " The request differs from the Location the registry sent: " + change + ".";
    } else {
      f.explanation += " The request target equals the Location byte for byte.";
    }
  }
  if (auto const* type = e.request_header("Content-Type"); type && (x.method == "GET" || x.method == "HEAD"))
    f.explanation += " The " + x.method + " carried Content-Type " + quoted(*type) + ", which SigV2 signs.";
  out.push_back(std::move(f));
}

}  // namespace

// The storage service's own words: x-ms-error-code or the XML <Code>, and its <Message>.
std::string storage_answer(entry_facts const& e) {
  exchange const& x = *e.x;
  if (x.status == 0) return "no answer";
  std::string text = std::to_string(x.status);
  if (auto const& code = e.error_code(); !code.empty()) text += " " + code;
  if (!e.error.message.empty()) text += " (" + quoted(e.error.message.substr(0, 160)) + ")";
  return text;
}

void signature_rules(facts_span trace, std::size_t s, redirect const* r, std::vector<finding>& out) {
  entry_facts const& e = trace[s];
  auto const refusal = refusal_of(e);
  if (refusal == signature_refusal::none) return;
  bool const expired = refusal == signature_refusal::expired;
  std::vector<evidence_item> items;
  if (r) items.push_back(evidence_of(trace[r->from], "redirect to " + host_of(r->target)));
  items.push_back(evidence_of(e, expired ? "URL expired" : "signature mismatch"));
  std::string answer = storage_answer(e);
  if (auto const detail = xml_element(e.x->response_body.text, "AuthenticationErrorDetail"); !detail.empty())
    answer += ", detail " + quoted(detail);
  if (expired)
    url_expired(trace, e, r, answer, std::move(items), out);
  else
    signature_mismatch(e, r, answer, std::move(items), out);
}

}  // namespace regtrace::capture::rules::detail
