// Catalog §3 group A: transport, TLS and proxy failures, the things a MITM sees below HTTP. What the
// answers themselves show (timers, digests, ranges, HTML pages) is in rules_transport_answers.cpp.
#include "capture/text/ascii.hpp"
#include "capture/rules/rules_detail.hpp"

#include <optional>

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

constexpr catalog_entry dial_failure{
    "A-08", "UPSTREAM_DIAL_FAILURE", severity::error,
    "The host could not be reached: name lookup or TCP connection failed",
    "dial tcp: lookup HOST: no such host / connect: connection refused / i/o timeout",
    "Fix DNS for the registry and for its token and storage (data) endpoints, and allow them through the "
    "firewall. For private endpoints every regional data endpoint must resolve privately."};

bool failed_in(exchange const& x, phase where) {
  return x.failure && x.failure->where == where;
}

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
};

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
  return "After CONNECT " + host +
         " the client aborted the TLS handshake with an alert and sent no request: " +
         (e.x->failure ? e.x->failure->detail : std::string{}) +
         ". The client does not trust regtrace's CA for " + host + ".";
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
std::string explain_stalled(std::string const& host, entry_facts const& e) {
  return "The client's TLS handshake for " + host +
         " did not complete within the idle timeout: " + failure_text(*e.x) + ".";
}

// resolving or connecting to the host failed.
std::string explain_dial(std::string const& host, entry_facts const& e) {
  return "regtrace could not reach " + host + " (" + std::string(to_string(e.x->failure->where)) +
         "): " + failure_text(*e.x) + ". The client got " +
         (e.x->status ? std::to_string(e.x->status) + " " + e.x->reason : std::string("no answer")) + ".";
}

// Which connection failure the entry shows, the most specific when it shows several; none for others.
std::optional<connection_failure> connection_failure_of(exchange const& x) {
  if (failed_with(x, errc::upstream_proxy_refused))
    return connection_failure{&upstream_proxy_rejected, explain_upstream_proxy_rejected};
  if (failed_with(x, errc::tls_version_too_low)) return connection_failure{&version_too_low, explain_old_tls};
  if (x.kind == entry_kind::client_tls_rejected && failed_with(x, errc::client_rejected_certificate))
    return connection_failure{&client_rejected_cert, explain_untrusted};
  if (failed_in(x, phase::client_tls) && failed_with(x, errc::client_timeout))
    return connection_failure{&handshake_stall, explain_stalled};
  if (failed_in(x, phase::resolve) || failed_in(x, phase::upstream_connect))
    return connection_failure{&dial_failure, explain_dial};
  if (failed_in(x, phase::upstream_tls))
    return connection_failure{&upstream_tls_failure, explain_upstream_tls};
  if (x.kind == entry_kind::connect_failed && failed_in(x, phase::connect_request))
    return connection_failure{&connect_rejected, explain_connect_rejected};
  return std::nullopt;
}

}  // namespace

void transport_rules(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    auto const failure = connection_failure_of(*e.x);
    if (!failure) continue;
    auto const host = host_of(*e.x);
    auto f = make_finding(*failure->entry, failure->explain(host, e), {evidence_of(e, failure_text(*e.x))});
    f.cause = host + " " + std::string(to_string(e.x->failure->where));
    out.push_back(std::move(f));
  }
}

}  // namespace regtrace::capture::rules::detail
