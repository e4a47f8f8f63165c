// Catalog §3 group A: transport, TLS and proxy failures, the things a MITM sees below HTTP, plus the
// body-integrity checks only a MITM that hashes every body can make.
#include "capture/text/ascii.hpp"
#include "capture/rules/rules_detail.hpp"

#include <map>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry connect_rejected{
    "A-02", "PROXY_CONNECT_REJECTED", severity::error,
    "The proxy refused the client's CONNECT, so no request reached the registry",
    "Get \"https://REGISTRY/v2/\": Proxy Authentication Required (Go prints the CONNECT reason phrase)",
    "Put the proxy credentials in the proxy URL (http://user:pass@proxy:port, percent-encoded; write % "
    "as %% in systemd drop-ins) and allow every host of the flow: registry, token realm and storage."};

// The same catalog entry one hop further: regtrace's own --upstream-proxy refused regtrace's CONNECT.
constexpr catalog_entry upstream_proxy_rejected{
    "A-02", "PROXY_CONNECT_REJECTED", severity::error,
    "The upstream proxy refused regtrace's CONNECT, so no request reached the registry",
    "received unexpected HTTP status: 502 Bad Gateway (regtrace answered the client with 502)",
    "Give regtrace the proxy credentials in --upstream-proxy http://USER:PASS@proxy:port (percent-encoded) "
    "and ask the proxy's owners to allow every host of the flow: registry, token realm and storage."};

constexpr catalog_entry client_rejected_cert{
    "A-03", "CLIENT_REJECTED_PROXY_CERT", severity::critical,
    "The client does not trust regtrace's certificate for this host",
    "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    "Trust regtrace's CA where the client looks: Docker reads /etc/docker/certs.d/HOST[:PORT]/ca.crt on "
    "every pull (`regtrace ca docker-trust HOST[:PORT]`); containerd needs `ca = ...` in "
    "/etc/containerd/certs.d/HOST/hosts.toml; podman and skopeo read /etc/containers/certs.d/HOST/. "
    "The token realm and storage hosts are separate TLS peers and need the same trust."};

constexpr catalog_entry upstream_tls_failure{
    "A-04", "UPSTREAM_TLS_FAILURE", severity::error,
    "regtrace's own TLS handshake with the registry failed",
    "received unexpected HTTP status: 502 Bad Gateway (regtrace answered the client with 502)",
    "If a TLS-inspecting device sits between regtrace and the registry, give regtrace its root CA with "
    "--upstream-ca FILE. Otherwise check the registry's certificate chain and name."};

constexpr catalog_entry version_too_low{
    "A-05", "TLS_VERSION_TOO_LOW", severity::error,
    "A peer offered only TLS 1.1 or older; registries and regtrace require TLS 1.2",
    "tls: protocol version not supported / handshake failure (old curl, OpenSSL, .NET or Java clients)",
    "Upgrade the client or its TLS library to one that speaks TLS 1.2 or 1.3 (Azure Container Registry "
    "has required TLS 1.2 since January 2020); remove any middlebox that downgrades TLS."};

constexpr catalog_entry handshake_stall{
    "A-06", "TLS_HANDSHAKE_STALL", severity::error,
    "A TLS handshake never completed",
    "net/http: TLS handshake timeout",
    "Check for a middlebox that cannot reassemble a ClientHello split over several TCP segments (Go 1.23+ "
    "sends large post-quantum key shares); GODEBUG=tlsmlkem=0 (Go 1.24+) is a stop-gap on the client."};

constexpr catalog_entry awaiting_headers{
    "A-07", "CLIENT_TIMEOUT_AWAITING_HEADERS", severity::error,
    "The registry took longer than the client's timeout to answer",
    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    "Find the slow hop: try `curl -v https://REGISTRY/v2/` through the same proxy and time the token "
    "endpoint. Docker and skopeo give up on the ping and token requests after 15 s, containerd 2.3+ "
    "after 30 s without response headers."};

constexpr catalog_entry dial_failure{
    "A-08", "UPSTREAM_DIAL_FAILURE", severity::error,
    "The host could not be reached: name lookup or TCP connection failed",
    "dial tcp: lookup HOST: no such host / connect: connection refused / i/o timeout",
    "Fix DNS for the registry and for its token and storage (data) endpoints, and allow them through the "
    "firewall. For private endpoints every regional data endpoint must resolve privately."};

constexpr catalog_entry body_altered{
    "A-10", "BODY_ALTERED_DIGEST_MISMATCH", severity::critical,
    "The content delivered does not hash to its digest",
    "filesystem layer verification failed for digest sha256:... (Docker); got digest ..., expected ... "
    "(containerd)",
    "Exempt the registry and storage hosts from any caching, compressing or content-rewriting proxy; "
    "check for a full disk on the client; pull again to see whether the corruption repeats."};

constexpr catalog_entry range_ignored{
    "A-11", "RANGE_NOT_HONOURED", severity::warning,
    "A resumed download asked for a byte range and got something else",
    "expected HTTP 206 from byte range request (Docker); unhandled content range in response (containerd)",
    "Let Range and Content-Range pass untouched through every proxy and CDN between client and storage."};

constexpr catalog_entry error_page{
    "A-12", "NON_REGISTRY_ERROR_PAGE", severity::error,
    "A registry request was answered by an HTML page, not by the registry API",
    "error parsing HTTP 403 response body: invalid character '<' looking for beginning of value",
    "Find the hop that answered (its Server and Via headers) and allow the registry hosts through it, or "
    "correct the registry address if it points at a web UI."};

constexpr catalog_entry upload_too_large{
    "A-13", "UPLOAD_BODY_TOO_LARGE_AT_INGRESS", severity::critical,
    "A reverse proxy in front of the registry refused an upload as too large",
    "error parsing HTTP 413 response body: invalid character '<' ... 413 Request Entity Too Large ... nginx",
    "Lift the request body limit on every nginx or ingress hop in front of the registry "
    "(client_max_body_size 0; the nginx default is 1 MiB)."};

// Go's net/http timers that cut ping and token requests (catalog §6.1, §7.3).
constexpr double go_client_timeout_ms = 15'000;
constexpr double containerd_header_timeout_ms = 30'000;
constexpr double timer_tolerance_ms = 500;


bool failed_in(exchange const& x, phase where) {
  return x.failure && x.failure->where == where;
}

// The failure's detail (what regtrace was doing, the alert), else its message.
std::string failure_text(exchange const& x) {
  if (!x.failure) return {};
  return x.failure->detail.empty() ? x.failure->message : x.failure->detail;
}

// One finding per host and phase for failures that repeat on every connection: the evidence lists
// them all, and the client and upstream legs of one host stay apart.
struct per_host {
  std::map<std::pair<std::string, int>, std::vector<entry_facts const*>> hosts;
  void add(entry_facts const& e) {
    int const where = e.x->failure ? static_cast<int>(e.x->failure->where) : -1;
    hosts[{host_of(*e.x), where}].push_back(&e);
  }
  template <class Explain>
  void emit(catalog_entry const& entry, std::vector<finding>& out, Explain explain) const {
    for (auto const& [key, entries] : hosts) {
      std::vector<evidence_item> items;
      for (auto const* e : entries) items.push_back(evidence_of(*e, failure_text(*e->x)));
      out.push_back(make_finding(entry, explain(key.first, *entries.front(), entries.size()), std::move(items)));
    }
  }
};

std::string times(std::size_t n) {
  return n == 1 ? "once" : std::to_string(n) + " times";
}

void connect_and_tls_failures(facts_span trace, std::vector<finding>& out) {
  per_host rejected, chained_rejected, untrusted, upstream_tls, old_tls, stalled, dial;
  for (auto const& e : trace) {
    exchange const& x = *e.x;
    if (failed_with(x, errc::upstream_proxy_refused)) {
      chained_rejected.add(e);
    } else if (failed_with(x, errc::tls_version_too_low)) {
      old_tls.add(e);
    } else if (x.kind == entry_kind::client_tls_rejected && failed_with(x, errc::client_rejected_certificate)) {
      untrusted.add(e);
    } else if (failed_in(x, phase::client_tls) && failed_with(x, errc::client_timeout)) {
      stalled.add(e);
    } else if (failed_in(x, phase::resolve) || failed_in(x, phase::upstream_connect)) {
      dial.add(e);
    } else if (failed_in(x, phase::upstream_tls)) {
      upstream_tls.add(e);
    } else if (x.kind == entry_kind::connect_failed && failed_in(x, phase::connect_request)) {
      rejected.add(e);
    }
  }
  rejected.emit(connect_rejected, out, [](std::string const& host, entry_facts const& e, std::size_t n) {
    return "regtrace answered CONNECT " + host + " with " + std::to_string(e.x->status) + " " + e.x->reason +
           " " + times(n) + ": " + failure_text(*e.x) + ".";
  });
  chained_rejected.emit(upstream_proxy_rejected, out,
                        [](std::string const& host, entry_facts const& e, std::size_t n) {
                          return "regtrace's upstream proxy refused to open a tunnel to " + host + " " +
                                 times(n) + ": " + failure_text(*e.x) + ".";
                        });
  untrusted.emit(client_rejected_cert, out, [](std::string const& host, entry_facts const& e, std::size_t n) {
    return "After CONNECT " + host + " the client aborted the TLS handshake with an alert " + times(n) +
           " and sent no request: " + (e.x->failure ? e.x->failure->detail : std::string{}) +
           ". The client does not trust regtrace's CA for " + host + ".";
  });
  upstream_tls.emit(upstream_tls_failure, out, [](std::string const& host, entry_facts const& e, std::size_t n) {
    std::string text = "The TLS handshake from regtrace to " + host + " failed " + times(n) + ": " +
                       failure_text(*e.x) + ".";
    if (e.x->upstream_tls && !e.x->upstream_tls->peer_chain.empty())
      text += " Certificate presented: " + e.x->upstream_tls->peer_chain.front() + ".";
    return text;
  });
  old_tls.emit(version_too_low, out, [](std::string const& host, entry_facts const& e, std::size_t n) {
    bool const client_side = failed_in(*e.x, phase::client_tls);
    return (client_side ? "The client offered regtrace only TLS 1.1 or older for " + host
                        : "The server " + host + " offered regtrace only TLS 1.1 or older") +
           " (" + times(n) + "): " + failure_text(*e.x) + ".";
  });
  stalled.emit(handshake_stall, out, [](std::string const& host, entry_facts const& e, std::size_t n) {
    return "The client's TLS handshake for " + host + " did not complete within the idle timeout " + times(n) +
           ": " + failure_text(*e.x) + ".";
  });
  dial.emit(dial_failure, out, [](std::string const& host, entry_facts const& e, std::size_t n) {
    return "regtrace could not reach " + host + " " + times(n) + " (" + std::string(to_string(e.x->failure->where)) +
           "): " + failure_text(*e.x) + ". The client got " +
           (e.x->status ? std::to_string(e.x->status) + " " + e.x->reason : std::string("no answer")) + ".";
  });
}

void slow_answers(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    exchange const& x = *e.x;
    if (x.kind != entry_kind::exchange) continue;
    double const waited = ms_to_headers(x);
    bool const timed_out = failed_with(x, errc::upstream_timeout);
    bool const short_timer = e.cls.kind == request_kind::ping || e.cls.kind == request_kind::token;
    double const limit = short_timer ? go_client_timeout_ms : containerd_header_timeout_ms;
    if (!(waited >= limit - timer_tolerance_ms || (timed_out && short_timer))) continue;
    // Manifest and blob requests of dockerd have no overall timeout: only the 30 s containerd header
    // timer can explain an abort there, and only when the client did give up.
    if (!short_timer && !x.failure) continue;
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f s", waited / 1000);
    std::string text = "The " + std::string(to_string(e.cls.kind)) + " request waited " + ms +
                       " for response headers";
    text += timed_out ? ", and the registry never answered" : "";
    text += short_timer ? "; Docker and skopeo give up on ping and token requests after 15 s."
                        : "; containerd 2.3+ gives up after 30 s without response headers.";
    out.push_back(make_finding(awaiting_headers, std::move(text), {evidence_of(e, std::string("headers after ") + ms)}));
  }
}

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
                       std::to_string(x.response_body.bytes) + " bytes) hashes to sha256:" + x.response_body.sha256 +
                       ".";
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

void ranges_ignored(facts_span trace, std::vector<finding>& out) {
  for (std::size_t i = 0; i < trace.size(); ++i) {
    auto const& e = trace[i];
    exchange const& x = *e.x;
    auto const* range = e.request_header("Range");
    if (!range || x.method != "GET") continue;
    long long const asked = range_start(*range);
    if (asked <= 0) continue;
    std::string text;
    if (x.status == 200) {
      text = "The client asked for " + *range + " and got 200 with the whole body instead of 206.";
    } else if (x.status == 206) {
      auto const* content_range = e.response_header("Content-Range");
      long long const got = content_range ? content_range_start(*content_range) : -1;
      if (got == asked) continue;
      text = "The client asked for " + *range + " and got 206 with Content-Range: " +
             (content_range ? *content_range : std::string("(none)")) + ".";
    } else {
      continue;
    }
    // It only aborts the pull when nothing later fetches the same URL successfully.
    bool recovered = false;
    for (std::size_t j = i + 1; j < trace.size() && !recovered; ++j) {
      exchange const& later = *trace[j].x;
      recovered = later.url() == x.url() && (later.status == 200 || later.status == 206) &&
                  later.response_body.complete && !trace[j].request_header("Range");
    }
    auto f = make_finding(range_ignored, std::move(text), {evidence_of(e, "Range: " + *range)});
    if (!recovered) {
      f.level = severity::error;
      f.explanation += " No later request fetched it whole, so the download most likely failed.";
    }
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
      out.push_back(make_finding(
          upload_too_large,
          "The " + x.method + " of " + std::to_string(x.request_body.bytes) + " bytes was answered 413 with an HTML page" +
              title + " (" + answered_by(e) + "): a body-size limit in front of the registry, not the registry.",
          {evidence_of(e, answered_by(e))}));
    } else if (x.status >= 400 || (x.status == 200 && e.cls.kind == request_kind::ping)) {
      bool const registry_header = e.response_header("Docker-Distribution-Api-Version") != nullptr;
      out.push_back(make_finding(
          error_page,
          "The registry request was answered " + std::to_string(x.status) + " with an HTML page" + title + " (" +
              answered_by(e) + ")" +
              (registry_header ? "." : ", without Docker-Distribution-Api-Version: another hop answered."),
          {evidence_of(e, answered_by(e))}));
    }
  }
}

}  // namespace

void transport_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {connect_and_tls_failures, slow_answers, digest_mismatches, ranges_ignored,
                                   html_answers};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
