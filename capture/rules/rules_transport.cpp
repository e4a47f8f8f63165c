// Catalog §3 group A: transport, TLS and proxy failures, the things a MITM sees below HTTP. What the
// answers themselves show (digests, ranges, HTML pages) is in rules_transport_answers.cpp, exchanges
// that stopped before their end (a client timer, a body cut or stalled) in rules_transport_stops.cpp,
// hosts that never reached the proxy in rules_transport_bypass.cpp.
#include "capture/rules/rules_detail.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/display.hpp"

#include <optional>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry scheme_mismatch{
    "A-01", "PROXY_SCHEME_MISMATCH", severity::critical,
    "The client speaks TLS to regtrace's plain-HTTP proxy port",
    "proxyconnect tcp: tls: first record does not look like a TLS handshake (Go); curl: (35) ... wrong "
    "version number",
    "Use an http:// proxy URL for regtrace (HTTPS_PROXY=http://HOST:PORT, and the same in daemon.json "
    "\"proxies\" or a systemd drop-in), then restart the daemon: the CONNECT tunnel still carries TLS "
    "end to end. A value without a scheme is read as http://."};

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

// The upstream side of A-06: regtrace's handshake with the registry never completed.
constexpr catalog_entry upstream_handshake_stall{
    "A-06", "TLS_HANDSHAKE_STALL", severity::error,
    "The registry accepted the connection but never completed the TLS handshake",
    "context deadline exceeded (the client gave up waiting for an answer)",
    "Find what holds the handshake: a firewall or middlebox that accepts TCP and drops the TLS records, "
    "an overloaded registry or load balancer, or a port that is not TLS at all. `openssl s_client "
    "-connect HOST:PORT -servername HOST` from regtrace's machine shows where it stops."};

constexpr catalog_entry plain_http_registry{
    "A-17", "PLAIN_HTTP_REGISTRY_AS_HTTPS", severity::error,
    "TLS was spoken to a plain-HTTP registry (or plain HTTP to a TLS port)",
    "http: server gave HTTP response to HTTPS client (through regtrace: received unexpected HTTP status: 502 "
    "Bad Gateway)",
    "List the registry as insecure where the client reads it: `insecure-registries` in dockerd's "
    "daemon.json, `[[registry]] insecure = true` in registries.conf, `plain_http` or an http:// server in "
    "containerd's hosts.toml; better, give the registry TLS."};

constexpr catalog_entry dial_failure{
    "A-08", "UPSTREAM_DIAL_FAILURE", severity::error,
    "The host could not be reached: name lookup or TCP connection failed",
    "dial tcp: lookup HOST: no such host / connect: connection refused / i/o timeout",
    "Fix DNS for the registry and for its token and storage (data) endpoints, and allow them through the "
    "firewall. For private endpoints every regional data endpoint must resolve privately."};

// The failure's detail (what regtrace was doing, the alert), else its message.
std::string failure_text(exchange const& x) {
  if (!x.failure) return {};
  return x.failure->detail.empty() ? x.failure->message : x.failure->detail;
}

// A connection failure of one host and leg: the client and upstream legs of one host are different
// causes (issue 12: diagnose() merges a failure that repeats on every connection into one finding).
struct connection_failure {
  catalog_entry const* entry;
  std::string (*explain)(std::string const& host, entry_facts const& e);
  /// What the client got, when the catalog's text does not say it ("" keeps the catalog's).
  std::string (*client_saw)(entry_facts const& e) = nullptr;
};

// regtrace's handshake with the registry never completed: an idle timeout, or the client gave up
// first. A silent server, not a certificate problem.
bool upstream_handshake_stalled(exchange const& x) {
  return failed_in(x, phase::upstream_tls) && (idle_timed_out(x) || failed_with(x, errc::client_abandoned));
}

// a TLS ClientHello where regtrace expects a CONNECT line.
std::string explain_scheme(std::string const&, entry_facts const& e) {
  return "A client began a TLS handshake on regtrace's plain-HTTP proxy port (first bytes " + e.x->unparsed_hex +
         ", a TLS handshake record) instead of sending CONNECT host:port: its proxy URL says https://. "
         "regtrace answered 400 and no request reached a registry.";
}

// regtrace refused the client's CONNECT.
std::string explain_connect_rejected(std::string const& host, entry_facts const& e) {
  return "regtrace answered CONNECT " + host + " with " + std::to_string(e.x->status) + " " + e.x->reason +
         ": " + failure_text(*e.x) + ".";
}

// A-02 one hop further: the --upstream-proxy refused regtrace's CONNECT.
std::string explain_upstream_proxy_rejected(std::string const& host, entry_facts const& e) {
  return "regtrace's upstream proxy refused to open a tunnel to " + host + ": " + failure_text(*e.x) + ".";
}

// the client aborted the TLS handshake with regtrace.
std::string explain_untrusted(std::string const& host, entry_facts const& e) {
  return "After CONNECT " + host + " the client aborted the TLS handshake with an alert and sent no request: " +
         (e.x->failure ? e.x->failure->detail : std::string{}) + ". The client does not trust regtrace's CA for " +
         host + ".";
}

// regtrace's own handshake with the registry failed.
std::string explain_upstream_tls(std::string const& host, entry_facts const& e) {
  std::string text = "The TLS handshake from regtrace to " + host + " failed: " + failure_text(*e.x) + ".";
  if (e.x->upstream_tls && !e.x->upstream_tls->peer_chain.empty())
    text += " Certificate presented: " + e.x->upstream_tls->peer_chain.front() + ".";
  return text;
}

// the client or the server offered only TLS 1.1 or older.
std::string explain_old_tls(std::string const& host, entry_facts const& e) {
  bool const client_side = failed_in(*e.x, phase::client_tls);
  return (client_side ? "The client offered regtrace only TLS 1.1 or older for " + host
                      : "The server " + host + " offered regtrace only TLS 1.1 or older") +
         ": " + failure_text(*e.x) + ".";
}

// the client's handshake never completed.
std::string explain_client_stall(std::string const& host, entry_facts const& e) {
  return "The client's TLS handshake for " + host + " did not complete within the idle timeout: " +
         failure_text(*e.x) + ".";
}

// A-06 upstream: regtrace's handshake with the registry never completed.
std::string explain_upstream_stall(std::string const& host, entry_facts const& e) {
  exchange const& x = *e.x;
  std::string text = "regtrace's TLS handshake with " + host + " stalled: the server accepted the TCP connection";
  if (x.timings.ssl > 0)
    text += " and had not answered the handshake after " + format_duration_ms(x.timings.ssl);
  if (failed_with(x, errc::client_abandoned))
    return text + " when the client gave up and closed its connection. No answer reached the client.";
  return text + ", when regtrace's own timeout ended the wait" +
         (x.status ? " and answered the client " + std::to_string(x.status) + " " + x.reason : std::string{}) +
         ".";
}

// What the client got when regtrace's handshake with the registry stalled: its own timer's words, or
// regtrace's answer.
std::string stalled_client_saw(entry_facts const& e) {
  if (auto text = abandoned_client_error(e); !text.empty()) return text;
  if (e.x->status == 0) return {};
  return "received unexpected HTTP status: " + std::to_string(e.x->status) + " " + e.x->reason +
         " (regtrace's answer when its timeout ended the wait)";
}

// the registry answered regtrace's ClientHello in plain HTTP.
std::string explain_plain_http(std::string const& host, entry_facts const& e) {
  return "regtrace spoke TLS to " + host + " and the server answered in plain HTTP (" + failure_text(*e.x) +
         "): the registry serves http://, not https://.";
}

// resolving or connecting to the host failed.
std::string explain_dial(std::string const& host, entry_facts const& e) {
  return "regtrace could not reach " + host + " (" + std::string(to_string(e.x->failure->where)) +
         "): " + failure_text(*e.x) + ". The client got " +
         (e.x->status ? std::to_string(e.x->status) + " " + e.x->reason : std::string("no answer")) + ".";
}

// Which connection failure the entry shows, the most specific when it shows several; none for others.
// Entries the client abandoned elsewhere, or that regtrace's stop cut short, are no connection failure:
// the stop rules read the former, nothing the latter. A CONNECT target that is not host:port is the
// client's mistake, not a refusal.
std::optional<connection_failure> connection_failure_of(exchange const& x) {
  if (failed_with(x, errc::upstream_proxy_refused))
    return connection_failure{&upstream_proxy_rejected, explain_upstream_proxy_rejected};
  if (failed_with(x, errc::tls_to_proxy_port)) return connection_failure{&scheme_mismatch, explain_scheme};
  if (failed_with(x, errc::tls_version_too_low)) return connection_failure{&version_too_low, explain_old_tls};
  if (x.kind == entry_kind::client_tls_rejected && failed_with(x, errc::client_rejected_certificate))
    return connection_failure{&client_rejected_cert, explain_untrusted};
  if (failed_in(x, phase::client_tls) && failed_with(x, errc::client_timeout))
    return connection_failure{&handshake_stall, explain_client_stall};
  if (upstream_handshake_stalled(x))
    return connection_failure{&upstream_handshake_stall, explain_upstream_stall, stalled_client_saw};
  if (failed_with(x, errc::upstream_not_tls)) return connection_failure{&plain_http_registry, explain_plain_http};
  if (failed_with(x, errc::client_abandoned) || failed_with(x, errc::proxy_stopped)) return std::nullopt;
  if (failed_in(x, phase::resolve) || failed_in(x, phase::upstream_connect))
    return connection_failure{&dial_failure, explain_dial};
  if (failed_in(x, phase::upstream_tls)) return connection_failure{&upstream_tls_failure, explain_upstream_tls};
  if (x.kind == entry_kind::connect_failed && failed_in(x, phase::connect_request) &&
      !failed_with(x, errc::bad_connect_target))
    return connection_failure{&connect_rejected, explain_connect_rejected};
  return std::nullopt;
}

void connection_rules(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    auto const failure = connection_failure_of(*e.x);
    if (!failure) continue;
    auto const host = host_of(*e.x);
    auto f = make_finding(*failure->entry, failure->explain(host, e), {evidence_of(e, failure_text(*e.x))});
    if (auto saw = failure->client_saw ? failure->client_saw(e) : std::string{}; !saw.empty())
      f.client_error = std::move(saw);
    f.cause = host + " " + std::string(to_string(e.x->failure->where));
    out.push_back(std::move(f));
  }
}

// A-17 the other way round: a plain-HTTP request met a TLS port, whose server said so in a 400 (Go's
// and nginx's wording, catalog A-17).
void plain_request_to_tls_port(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    exchange const& x = *e.x;
    if (x.scheme != "http" || x.status != 400 || x.generated_response) continue;
    auto const& body = x.response_body.text;
    if (!icontains(body, "HTTP request to an HTTPS server") &&
        !icontains(body, "plain HTTP request was sent to HTTPS port"))
      continue;
    out.push_back(make_finding(plain_http_registry,
                               x.method + " " + x.url() +
                                   " went out as plain HTTP and the server answered 400 (" +
                                   quoted(trim_ows(body.substr(0, 120))) +
                                   "): that port speaks TLS, the client was told the registry is plain HTTP.",
                               {evidence_of(e, "plain HTTP to a TLS port")}));
  }
}

}  // namespace

void transport_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {connection_rules, plain_request_to_tls_port};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
