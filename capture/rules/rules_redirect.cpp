// Catalog §3 group D: redirects and object storage. Each 30x is linked to the request that followed
// its Location (catalog §7.3); the rules read that pair.
#include "capture/text/ascii.hpp"
#include "capture/redaction/redaction.hpp"
#include "capture/rules/rules_detail.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <set>

namespace regtrace::capture::rules::detail {
namespace {

// clang-format off
constexpr catalog_entry d01{"D-01", "REDIRECT_AUTH_FORWARDED", severity::critical,
    "Credentials were sent to a pre-signed storage URL",
    "unknown: <?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>InvalidAuthenticationInfo</Code>... "
    "(or \"error parsing HTTP 400 response body: invalid character '<' ...\"; libraries: 400 Bad Request)",
    "Follow the redirect without Authorization or Cookie headers: configure the HTTP library to drop them on "
    "cross-host redirects, or with curl drop -L and fetch the Location separately. A registry can also serve "
    "blobs itself (distribution: `redirect: disable: true`)."};
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
constexpr catalog_entry d04{"D-04", "REDIRECT_TARGET_BLOCKED", severity::critical,
    "The storage/CDN host the registry redirected to is not reachable",
    "containerd: \"httpReadSeeker: failed open: unexpected status from GET request to https://<cdn>/...: 403 "
    "Forbidden\"; Docker: \"error pulling image configuration: Get https://...\" with a dial error",
    "Allow the registry's data endpoints as well as its API host through firewalls and proxies: ACR "
    "<registry>.<region>.data.azurecr.io per region, ECR's S3 bucket (S3 gateway endpoint in a VPC), Docker "
    "Hub's CDN hosts."};
constexpr catalog_entry d05{"D-05", "REDIRECT_AUTH_REQUIRED_BUT_DROPPED", severity::error,
    "Redirected to another registry that wants credentials the client does not send there",
    "unauthorized: authentication required (on the redirected URL)",
    "Point the client at the second registry directly (mirror settings, registries.conf), or have the first "
    "registry proxy the content instead of redirecting."};
constexpr catalog_entry d06{"D-06", "REDIRECT_LOOP", severity::error,
    "Redirect loop",
    "stopped after 10 redirects",
    "Fix the redirect configuration of the registry or reverse proxy so the chain ends at the content."};
// clang-format on

// Catalog D-06: Go's client and the registry clients stop after 10 redirects.
constexpr std::size_t redirect_limit = 10;

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// A Location made absolute against the request that received it (RFC 9110 §10.2.2).
std::string resolve_location(exchange const& x, std::string_view location) {
  auto const sep = location.find("://");
  if (sep != std::string_view::npos && sep < location.find_first_of("/?#")) return std::string(location);
  if (location.starts_with("//")) return x.scheme + ":" + std::string(location);
  std::string base = x.scheme + "://" + x.authority();
  if (location.starts_with('/')) return base + std::string(location);
  auto const path = path_of(x.target);
  return base + std::string(path.substr(0, path.rfind('/') + 1)) + std::string(location);
}

struct query_pair {
  std::string key;
  std::string_view value;
};

// Same host, path and query parameters, values compared decoded and redaction markers matching any
// value: the Location and the request that followed it, even when only one of them was redacted.
bool same_resource(exchange const& location, exchange const& x) {
  if (location.scheme != x.scheme || host_of(location) != host_of(x) || location.port != x.port) return false;
  if (percent_decode(path_of(location.target)) != percent_decode(path_of(x.target))) return false;
  auto sorted = [](std::string_view query) {
    std::vector<query_pair> pairs;
    for (auto const& p : split_query(query)) pairs.push_back({percent_decode(p.key), p.value});
    std::ranges::stable_sort(pairs, {}, &query_pair::key);
    return pairs;
  };
  auto const a = sorted(query_of(location.target));
  auto const b = sorted(query_of(x.target));
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key) return false;
    if (is_redaction_marker(a[i].value) || is_redaction_marker(b[i].value)) continue;
    if (percent_decode(a[i].value) != percent_decode(b[i].value)) return false;
  }
  return true;
}

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

// The storage service's own words: x-ms-error-code or the XML <Code>, and its <Message>.
std::string storage_answer(entry_facts const& e) {
  exchange const& x = *e.x;
  if (x.status == 0) return "no answer";
  std::string text = std::to_string(x.status);
  if (auto const& code = e.error_code(); !code.empty()) text += " " + code;
  if (!e.error.message.empty()) text += " (" + quoted(e.error.message.substr(0, 160)) + ")";
  return text;
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

// One 30x and what became of its Location.
struct redirect {
  std::size_t from = 0;               ///< position of the 30x answer
  std::string location;               ///< absolute
  exchange target;                    ///< the Location split into scheme, host, port, target
  bool storage = false;               ///< pre-signed or storage host (catalog §7.1)
  bool foreign = false;               ///< another host name than the one that answered
  std::optional<std::size_t> follow;  ///< the request that fetched the Location
};

std::vector<redirect> find_redirects(facts_span trace) {
  std::vector<redirect> out;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    exchange const& x = *trace[i].x;
    auto const* location = trace[i].response_header("Location");
    if (x.kind != entry_kind::exchange || !is_redirect(x.status) || !location || location->empty()) continue;
    redirect r;
    r.from = i;
    r.location = resolve_location(x, *location);
    if (!set_url(r.target, r.location)) continue;
    r.storage = classify("GET", r.target.host, r.target.target).kind == request_kind::storage;
    // Host names, not ports: Go keeps Authorization across ports of one host, and so does the catalog's
    // "<host> ≠ request host".
    r.foreign = host_of(r.target) != host_of(x);
    for (std::size_t q = i + 1; q < trace.size() && !r.follow; ++q)
      if (trace[q].x->kind == entry_kind::exchange && same_client(trace[i], trace[q]) &&
          same_resource(r.target, *trace[q].x))
        r.follow = q;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<evidence_item> pair_evidence(facts_span trace, redirect const& r, std::string_view from_note,
                                         std::string_view follow_note) {
  std::vector<evidence_item> items{evidence_of(trace[r.from], from_note)};
  if (r.follow) items.push_back(evidence_of(trace[*r.follow], follow_note));
  return items;
}

// D-01: the request to the Location carried Authorization. Detected on the request, whatever storage
// answered (MinIO accepts it): the credential left the registry's host either way.
void forwarded_auth(facts_span trace, redirect const& r, std::vector<finding>& out) {
  if (!r.storage || !r.foreign || !r.follow || !trace[*r.follow].has_authorization()) return;
  entry_facts const& origin = trace[r.from];
  entry_facts const& storage = trace[*r.follow];
  std::string const& sent = *storage.request_header("Authorization");
  std::string const scheme = sent.substr(0, sent.find(' '));
  auto const* original = origin.request_header("Authorization");
  std::string explanation = origin.x->method + " " + origin.x->url() + " was redirected (" +
                            std::to_string(origin.x->status) + ") to the pre-signed storage host " +
                            host_of(r.target) + ", and the client sent its Authorization: " + scheme +
                            " header there";
  explanation += original && *original == sent ? " (the same credential it gave the registry)." : ".";
  if (storage.x->status >= 200 && storage.x->status < 300)
    explanation += " Storage answered " + std::to_string(storage.x->status) +
                   " and ignored the header, but the credential leaked to a third party.";
  else
    explanation += " Storage answered " + storage_answer(storage) + ".";
  out.push_back(make_finding(
      d01, std::move(explanation),
      pair_evidence(trace, r, "redirect to " + host_of(r.target), "Authorization: " + scheme + " sent")));
}

// D-01 without the 30x in the trace: a pre-signed URL fetched with a registry credential.
void forwarded_auth_unlinked(entry_facts const& e, std::vector<finding>& out) {
  auto const* auth = e.request_header("Authorization");
  if (e.cls.kind != request_kind::storage || !auth || !is_presigned_storage_query(query_of(e.x->target)))
    return;
  std::string const scheme = auth->substr(0, auth->find(' '));
  if (!iequals(scheme, "Bearer") && !iequals(scheme, "Basic")) return;
  out.push_back(make_finding(d01,
                             "The pre-signed storage URL on " + host_of(*e.x) +
                                 " was fetched with an Authorization: " + scheme +
                                 " header; storage answered " + storage_answer(e) + ".",
                             {evidence_of(e, "Authorization: " + scheme + " sent")}));
}

// D-02 and D-03: storage refused the signature.
void signature_rules(facts_span trace, std::size_t s, redirect const* r, std::vector<finding>& out) {
  entry_facts const& e = trace[s];
  exchange const& x = *e.x;
  if (x.status != 403 && x.status != 400) return;
  auto const& code = e.error_code();
  auto const& body = x.response_body.text;
  bool const expired =
      x.status == 403 &&
      ((iequals(code, "AuthenticationFailed") &&
        (icontains(body, "not valid in the specified time frame") || icontains(body, "Signed expiry time"))) ||
       (iequals(code, "AccessDenied") && icontains(body, "Request has expired")));
  bool const mismatch =
      iequals(code, "SignatureDoesNotMatch") ||
      (iequals(code, "AuthenticationFailed") &&
       (icontains(body, "Signature did not match") || icontains(body, "Signature fields not well formed")));
  if (!expired && !mismatch) return;
  std::vector<evidence_item> items;
  if (r) items.push_back(evidence_of(trace[r->from], "redirect to " + host_of(r->target)));
  items.push_back(evidence_of(e, expired ? "URL expired" : "signature mismatch"));
  std::string answer = storage_answer(e);
  if (auto const detail = xml_element(body, "AuthenticationErrorDetail"); !detail.empty())
    answer += ", detail " + quoted(detail);

  if (expired) {
    std::string explanation = "Storage refused the pre-signed URL as expired: " + answer + ".";
    std::string source;
    auto const now = epoch_seconds(x);
    if (auto const expiry = url_expiry(x.target, source)) {
      auto const delta = now - *expiry;
      explanation += " The URL's expiry (" + source + ") is " + std::to_string(delta < 0 ? -delta : delta) +
                     " s " + (delta >= 0 ? "before" : "after") + " the request time";
      if (auto const* date = e.response_header("Date"))
        if (auto const server = parse_http_date(*date))
          explanation += " (storage's clock: " + std::to_string(*server - *expiry) + " s past expiry)";
      explanation +=
          delta >= 0 ? "." : ": by the recording clock it was still valid, so the clocks disagree.";
    }
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
    return;
  }
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

// D-04: the redirect target cannot be reached, refuses at its edge, or is never asked.
void blocked_target(facts_span trace, redirect const& r, std::vector<finding>& out) {
  if (!r.foreign) return;
  entry_facts const& origin = trace[r.from];
  auto const host = host_of(r.target);
  std::string const lead = origin.x->method + " " + origin.x->url() + " was redirected to " + host;
  std::optional<std::size_t> failed;
  if (r.follow && host_unreachable(*trace[*r.follow].x)) failed = r.follow;
  for (std::size_t q = r.from + 1; q < trace.size() && !failed && !r.follow; ++q)
    if (same_client(origin, trace[q]) && host_of(*trace[q].x) == host && host_unreachable(*trace[q].x))
      failed = q;
  if (failed) {
    entry_facts const& f = trace[*failed];
    std::string why = f.x->failure
                          ? std::string(to_string(f.x->failure->where)) + ": " + f.x->failure->message
                          : std::string(to_string(f.x->kind));
    out.push_back(
        make_finding(d04, lead + ", and reaching " + host + " failed (" + why + ").",
                     {evidence_of(origin, "redirect to " + host), evidence_of(f, "cannot reach " + host)}));
    return;
  }
  if (r.follow) {
    entry_facts const& s = trace[*r.follow];
    auto const kind = s.error.kind;
    if (s.x->status != 403 || kind == error_body::format::xml || kind == error_body::format::registry_json)
      return;
    std::string explanation = lead + ", which answered 403 with ";
    explanation += kind == error_body::format::html   ? "an HTML page"
                   : kind == error_body::format::none ? "an empty body"
                                                      : "a plain-text body";
    if (!s.error.message.empty()) explanation += " (" + quoted(s.error.message.substr(0, 120)) + ")";
    if (auto const* server = s.response_header("Server")) explanation += " from server " + quoted(*server);
    explanation += ": a firewall or CDN edge, not the storage service, refused it.";
    out.push_back(make_finding(d04, std::move(explanation),
                               {evidence_of(origin, "redirect to " + host), evidence_of(s, "edge 403")}));
    return;
  }
  // Nothing reached the target: judged once the client asked the registry for the same URL again,
  // so a storage request still to come is never reported.
  for (std::size_t q = r.from + 1; q < trace.size(); ++q)
    if (host_of(*trace[q].x) == host) return;
  for (std::size_t q = r.from + 1; q < trace.size(); ++q) {
    if (!same_client(origin, trace[q]) || trace[q].x->method != origin.x->method ||
        trace[q].x->url() != origin.x->url())
      continue;
    out.push_back(
        make_finding(d04,
                     lead + ", but no request to " + host +
                         " ever reached the proxy, and the client asked the registry again (entry " +
                         std::to_string(trace[q].index) + "): the client cannot reach " + host +
                         " or bypasses the proxy for it.",
                     {evidence_of(origin, "redirect to " + host), evidence_of(trace[q], "asked again")}));
    return;
  }
}

// D-05: redirected to another registry's API, followed without credentials, refused there.
void dropped_auth(facts_span trace, redirect const& r, std::vector<finding>& out) {
  if (!r.foreign || r.storage || !r.follow) return;
  entry_facts const& origin = trace[r.from];
  entry_facts const& next = trace[*r.follow];
  auto const kind = classify("GET", r.target.host, r.target.target).kind;
  if (kind == request_kind::other || kind == request_kind::token || !origin.has_authorization() ||
      next.has_authorization() || next.x->status != 401)
    return;
  // The client may still get a token from the second registry and retry with it.
  bool moved_on = false;
  for (std::size_t q = *r.follow + 1; q < trace.size(); ++q) {
    if (!same_client(next, trace[q])) continue;
    if (same_resource(r.target, *trace[q].x) && trace[q].has_authorization()) {
      if (trace[q].x->status < 400) return;
    } else if (trace[q].cls.kind != request_kind::token) {
      moved_on = true;
    }
  }
  if (!moved_on && !next.trace_complete) return;
  out.push_back(make_finding(
      d05,
      origin.x->method + " " + origin.x->url() + " (sent with Authorization) was redirected to " +
          host_of(r.target) + ", another registry; the client followed without credentials and " +
          host_of(r.target) + " answered 401.",
      pair_evidence(trace, r, "redirect to " + host_of(r.target), "401 without Authorization")));
}

// D-06: one logical request bounced through redirect_limit or more 3xx answers.
void redirect_loops(facts_span trace, std::vector<redirect> const& redirects, std::vector<finding>& out) {
  std::vector<std::optional<std::size_t>> next(trace.size());
  std::vector<bool> is_target(trace.size(), false);
  std::vector<redirect const*> at(trace.size(), nullptr);
  for (auto const& r : redirects) {
    at[r.from] = &r;
    if (r.follow) {
      next[r.from] = *r.follow;
      is_target[*r.follow] = true;
    }
  }
  for (auto const& r : redirects) {
    if (is_target[r.from]) continue;
    std::vector<std::size_t> chain{r.from};
    std::set<std::string> urls{normalize_url(trace[r.from].x->url())};
    bool cycle = false;
    for (auto n = next[r.from]; n && at[*n]; n = next[*n]) {
      chain.push_back(*n);
      cycle = !urls.insert(normalize_url(trace[*n].x->url())).second || cycle;
    }
    if (chain.size() < redirect_limit) continue;
    std::string explanation = std::to_string(chain.size()) + " redirects in a row, starting at " +
                              trace[r.from].x->method + " " + trace[r.from].x->url();
    explanation += cycle ? ", going round a cycle of URLs." : ", without reaching content.";
    out.push_back(make_finding(
        d06, std::move(explanation),
        {evidence_of(trace[chain[0]], "first redirect"), evidence_of(trace[chain[1]], "second redirect"),
         evidence_of(trace[chain.back()], "redirect " + std::to_string(chain.size()))}));
  }
}

}  // namespace

void redirect_rules(facts_span trace, std::vector<finding>& out) {
  auto const redirects = find_redirects(trace);
  std::vector<redirect const*> followed_from(trace.size(), nullptr);
  for (auto const& r : redirects) {
    if (!trace[r.from].is_registry_api() && !r.storage) continue;
    if (r.follow) followed_from[*r.follow] = &r;
    forwarded_auth(trace, r, out);
    blocked_target(trace, r, out);
    dropped_auth(trace, r, out);
  }
  for (std::size_t s = 0; s < trace.size(); ++s) {
    bool const storage =
        trace[s].cls.kind == request_kind::storage || (followed_from[s] && followed_from[s]->storage);
    if (!storage || trace[s].x->kind != entry_kind::exchange) continue;
    if (!followed_from[s]) forwarded_auth_unlinked(trace[s], out);
    signature_rules(trace, s, followed_from[s], out);
  }
  redirect_loops(trace, redirects, out);
}

}  // namespace regtrace::capture::rules::detail
