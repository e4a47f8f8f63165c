// Catalog §3 group A on the answers themselves, the things only a MITM that hashes and reads every
// exchange sees: a body that does not hash to its digest, a byte range not honoured, an
// HTML page where the registry API should answer, several ranges in one request refused
// or ignored.
#include "capture/rules/rules_detail.hpp"
#include "capture/text/ascii.hpp"

#include <map>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry body_altered{
    "A-10",
    "BODY_ALTERED_DIGEST_MISMATCH",
    severity::critical,
    "The content delivered does not hash to its digest",
    "filesystem layer verification failed for digest sha256:... (Docker); got digest ..., expected ... "
    "(containerd)",
    "Exempt the registry and storage hosts from any caching, compressing or content-rewriting proxy; "
    "check for a full disk on the client; pull again to see whether the corruption repeats."};

constexpr catalog_entry range_ignored{
    "A-11",
    "RANGE_NOT_HONOURED",
    severity::warning,
    "A resumed download asked for a byte range and got something else",
    "expected HTTP 206 from byte range request (Docker); unhandled content range in response (containerd)",
    "Let Range and Content-Range pass untouched through every proxy and CDN between client and storage."};

constexpr catalog_entry multi_range_refused{
    "A-15",
    "MULTI_RANGE_UNSUPPORTED",
    severity::warning,
    "A request for several byte ranges was refused or answered with the whole body",
    "falling back to full pull (podman debug log); sometimes \"invalid status code 501\"",
    "Let multi-range requests through to storage that supports them (206 multipart/byteranges), or turn "
    "partial pulls off on the client (enable_partial_images = false in containers-storage.conf)."};

constexpr catalog_entry error_page{
    "A-12",
    "NON_REGISTRY_ERROR_PAGE",
    severity::error,
    "A registry request was answered by an HTML page, not by the registry API",
    "error parsing HTTP 403 response body: invalid character '<' looking for beginning of value",
    "Find the hop that answered (its Server and Via headers) and allow the registry hosts through it, or "
    "correct the registry address if it points at a web UI."};

constexpr catalog_entry upload_too_large{
    "A-13",
    "UPLOAD_BODY_TOO_LARGE_AT_INGRESS",
    severity::critical,
    "A reverse proxy in front of the registry refused an upload as too large",
    "error parsing HTTP 413 response body: invalid character '<' ... 413 Request Entity Too Large ... nginx",
    "Lift the request body limit on every nginx or ingress hop in front of the registry "
    "(client_max_body_size 0; the nginx default is 1 MiB)."};

// sha256 hex of a "sha256:<hex>" digest, or "" for other algorithms.
std::string_view sha256_hex_of(std::string_view digest) {
  constexpr std::string_view prefix = "sha256:";
  return digest.starts_with(prefix) ? digest.substr(prefix.size()) : std::string_view{};
}

// A blob or manifest GET whose complete 200 body does not hash to the digest in its URL, or to the
// digest of the registry request that redirected to it (catalog A-10).
void digest_mismatches(facts_span trace, std::vector<finding>& out) {
  std::map<std::string, entry_facts const*> redirected_from;  // Location -> the 30x entry
  for (auto const& e : trace) {
    exchange const& x = *e.x;
    if (x.status >= 300 && x.status < 400 && !e.cls.digest.empty())
      if (auto const* location = e.response_header("Location")) redirected_from[*location] = &e;
    if (x.status != 200 || x.method != "GET" || !x.response_body.complete || x.response_body.sha256.empty())
      continue;
    entry_facts const* origin = nullptr;
    std::string_view expected = sha256_hex_of(e.cls.digest);
    if (e.cls.kind == request_kind::manifest && e.cls.reference != e.cls.digest) expected = {};
    if (expected.empty()) {
      auto it = redirected_from.find(x.url());
      if (it == redirected_from.end()) continue;
      origin = it->second;
      expected = sha256_hex_of(origin->cls.digest);
    }
    if (expected.empty() || iequals(expected, x.response_body.sha256)) continue;
    std::string text = "The body delivered for sha256:" + std::string(expected) + " (" +
                       std::to_string(x.response_body.bytes) +
                       " bytes) hashes to sha256:" + x.response_body.sha256 + ".";
    if (auto const* encoding = e.response_header("Content-Encoding"))
      text += " The answer carries Content-Encoding: " + *encoding + ", added by an intermediary.";
    // The trigger (first evidence) is the entry that carried the wrong bytes.
    std::vector<evidence_item> items{evidence_of(e, "body sha256:" + x.response_body.sha256.substr(0, 12))};
    if (origin) items.push_back(evidence_of(*origin, "redirected to the entry above"));
    out.push_back(make_finding(body_altered, std::move(text), std::move(items)));
  }
}

// "bytes=N-" or "bytes=N-M" (a Range header): N, or -1.
long long range_start(std::string_view range) {
  auto const start = read_leading_integer(range, "bytes=");
  return start && start->rest.starts_with('-') ? start->value : -1;
}

// "bytes N-M/T" (a Content-Range header): N, or -1.
long long content_range_start(std::string_view value) {
  auto const start = read_leading_integer(value, "bytes ");
  return start ? start->value : -1;
}

// A-11 recovers when a later request fetched the blob whole, without a range of its own.
bool asks_no_range(entry_facts const&, entry_facts const& later) {
  return later.request_header("Range") == nullptr;
}

// "bytes=0-99,200-299": several ranges in one request (RFC 9110 §14.1.2), A-15's, not A-11's.
bool is_multi_range(std::string_view range) {
  return range.find(',') != std::string_view::npos;
}

void ranges_ignored(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    exchange const& x = *e.x;
    auto const* range = e.request_header("Range");
    if (!range || x.method != "GET" || is_multi_range(*range)) continue;
    long long const asked = range_start(*range);
    if (asked <= 0) continue;
    std::string text;
    if (x.status == 200) {
      text = "The client asked for " + *range + " and got 200 with the whole body instead of 206.";
    } else if (x.status == 206) {
      auto const* content_range = e.response_header("Content-Range");
      long long const got = content_range ? content_range_start(*content_range) : -1;
      if (got == asked) continue;
      text = "The client asked for " + *range +
             " and got 206 with Content-Range: " + (content_range ? *content_range : std::string("(none)")) +
             ".";
    } else {
      continue;
    }
    // It only aborts the pull when nothing later fetches the blob whole.
    auto f = make_finding(range_ignored, std::move(text), {evidence_of(e, "Range: " + *range)});
    if (auto const whole = recovered(trace, e, asks_no_range)) {
      mark_recovered(f, whole);
    } else {
      f.level = severity::error;
      f.explanation += " No later request fetched it whole, so the download most likely failed.";
    }
    out.push_back(std::move(f));
  }
}

// several ranges asked at once (containers-storage partial pulls of zstd:chunked and estargz
// layers) answered with the whole body, 416 or 501 instead of 206 multipart/byteranges.
void multi_ranges_refused(facts_span trace, std::vector<finding>& out) {
  for (std::size_t i = 0; i < trace.size(); ++i) {
    auto const& e = trace[i];
    exchange const& x = *e.x;
    auto const* range = e.request_header("Range");
    if (!range || x.method != "GET" || !is_multi_range(*range)) continue;
    if (x.status != 200 && x.status != 416 && x.status != 501) continue;
    std::string text = "The client asked for several byte ranges at once (Range: " + *range + ") and got " +
                       std::to_string(x.status) +
                       (x.status == 200 ? " with the whole body" : std::string(" ") + x.reason) +
                       " instead of 206 multipart/byteranges.";
    std::vector<evidence_item> items{evidence_of(e, "Range: " + *range)};
    for (std::size_t j = i + 1; j < trace.size(); ++j) {
      auto const& later = trace[j];
      if (later.x->url() != x.url() || later.request_header("Range") || !same_client(e, later)) continue;
      text += " The client then fetched the whole blob (entry " + std::to_string(later.index) +
              "): its fallback to a full pull.";
      items.push_back(evidence_of(later, "full pull"));
      break;
    }
    auto f = make_finding(multi_range_refused, std::move(text), std::move(items));
    f.cause = host_of(x) + (x.status == 200 ? " ignored" : " refused");  // the whole body, or an error
    out.push_back(std::move(f));
  }
}

bool is_html(entry_facts const& e) {
  if (e.error.kind == error_body::format::html) return true;
  auto const* type = e.response_header("Content-Type");
  return type && type->find("text/html") != std::string::npos;
}

std::string answered_by(entry_facts const& e) {
  auto const who = response_headers_text(e, {"Server", "Via"});
  return who.empty() ? std::string("no Server or Via header") : who;
}

void html_answers(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    exchange const& x = *e.x;
    if (x.kind != entry_kind::exchange || x.generated_response || !is_html(e)) continue;
    bool const api_path = x.target.starts_with("/v2/") || x.target == "/v2";
    if (!api_path || e.cls.kind == request_kind::storage) continue;
    bool const upload = e.cls.kind == request_kind::upload || x.method == "PATCH" ||
                        (x.method == "PUT" && e.cls.kind != request_kind::manifest);
    std::string title = e.error.message.empty() ? std::string{} : " titled \"" + e.error.message + "\"";
    if (x.status == 413 && upload) {
      out.push_back(make_finding(upload_too_large,
                                 "The " + x.method + " of " + std::to_string(x.request_body.bytes) +
                                     " bytes was answered 413 with an HTML page" + title + " (" +
                                     answered_by(e) +
                                     "): a body-size limit in front of the registry, not the registry.",
                                 {evidence_of(e, answered_by(e))}));
    } else if (x.status >= 400 || (x.status == 200 && e.cls.kind == request_kind::ping)) {
      bool const registry_header = e.response_header("Docker-Distribution-Api-Version") != nullptr;
      out.push_back(make_finding(
          error_page,
          "The registry request was answered " + std::to_string(x.status) + " with an HTML page" + title +
              " (" + answered_by(e) + ")" +
              (registry_header ? "." : ", without Docker-Distribution-Api-Version: another hop answered."),
          {evidence_of(e, answered_by(e))}));
    }
  }
}

}  // namespace

void transport_answer_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {digest_mismatches, ranges_ignored, multi_ranges_refused, html_answers};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
