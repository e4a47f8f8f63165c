// Catalog §3 group A on exchanges that stopped before their end: a client timer that fired while the
// registry was silent, a body cut or stalled mid-transfer on either leg, or left by the client
// . Who stopped is on the entry (failure.peer, errc::client_abandoned); regtrace's own stop
// (errc::proxy_stopped) is no registry failure and gives no finding.
#include "capture/rules/rules_detail.hpp"
#include "capture/text/display.hpp"

#include <optional>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry awaiting_headers{
    "A-07",
    "CLIENT_TIMEOUT_AWAITING_HEADERS",
    severity::error,
    "The registry took longer than the client's timeout to answer",
    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    "Find the slow hop: try `curl -v https://REGISTRY/v2/` through the same proxy and time the token "
    "endpoint. Docker and skopeo give up on the ping and token requests after 15 s, containerd 2.3+ "
    "after 30 s without response headers."};

constexpr catalog_entry transfer_stopped{
    "A-14",
    "TRANSFER_CUT_OR_STALLED",
    severity::error,
    "A body ended early or stopped moving",
    "unexpected EOF (Docker: \"Download failed, retrying\")",
    "Raise or remove total and idle timeouts on every hop of blob and upload paths (nginx "
    "proxy_read_timeout, load balancer idle timeouts), turn off request and response buffering, and check "
    "the hop the finding names as the one that stopped; clients resume with a Range request."};

// Go's net/http timers that cut ping and token requests (catalog §6.1, §7.3).
constexpr double go_client_timeout_ms = 15'000;
constexpr double containerd_header_timeout_ms = 30'000;
constexpr double timer_tolerance_ms = 500;
// regtrace's request timing starts after the client's CONNECT and handshake, which its timer counts.
constexpr double timer_head_start_ms = 1'000;

bool short_timer(entry_facts const& e) {
  return e.cls.kind == request_kind::ping || e.cls.kind == request_kind::token;
}

// The client gave up while regtrace was still connecting upstream or waiting for the response head:
// no answer ever came (errc::client_abandoned, status 0).
bool abandoned_before_answer(exchange const& x) {
  return failed_with(x, errc::client_abandoned) && x.status == 0 &&
         (failed_in(x, phase::resolve) || failed_in(x, phase::upstream_connect) ||
          failed_in(x, phase::response_relay));
}

// A client timer matches a wait of ms, allowing for the part of the wait regtrace did not see.
bool matches_timer(double ms, double timer) {
  return ms >= timer - timer_head_start_ms && ms <= timer + timer_tolerance_ms;
}

// A-07 on a request whose answer came (or the upstream timed out) after a client timer: how long it
// waited for the head, else nullopt. A slow upload is no wait for headers (A-14 reads it), nor is a
// registry handshake that stalled.
std::optional<double> late_answer(entry_facts const& e) {
  exchange const& x = *e.x;
  if (x.kind != entry_kind::exchange || failed_in(x, phase::request_relay) ||
      failed_in(x, phase::upstream_tls) || failed_with(x, errc::proxy_stopped))
    return std::nullopt;
  double const waited = ms_to_headers(x);
  bool const timed_out = failed_with(x, errc::upstream_timeout);
  double const limit = short_timer(e) ? go_client_timeout_ms : containerd_header_timeout_ms;
  if (!(waited >= limit - timer_tolerance_ms || (timed_out && short_timer(e)))) return std::nullopt;
  // Manifest and blob requests of dockerd have no overall timeout: only the 30 s containerd header
  // timer can explain an abort there, and only when the client did give up.
  if (!short_timer(e) && !x.failure) return std::nullopt;
  return waited;
}

void report_late_answer(entry_facts const& e, double waited, std::vector<finding>& out) {
  auto const ms = format_duration_ms(waited);
  std::string text =
      "The " + std::string(to_string(e.cls.kind)) + " request waited " + ms + " for response headers";
  text += failed_with(*e.x, errc::upstream_timeout) ? ", and the registry never answered" : "";
  text += short_timer(e) ? "; Docker and skopeo give up on ping and token requests after 15 s."
                         : "; containerd 2.3+ gives up after 30 s without response headers.";
  out.push_back(make_finding(awaiting_headers, std::move(text), {evidence_of(e, "headers after " + ms)}));
}

// Which client timer a wait of ms matches (catalog §6.1, §7.3), as the end of a sentence.
std::string timer_named(entry_facts const& e, double ms) {
  if (client_of(e) == client_family::curl) return "curl's own limit (--max-time or -m).";
  if (matches_timer(ms, go_client_timeout_ms))
    return "Go's 15 s client timeout, which dockerd (and skopeo) put on ping, token and login requests.";
  if (matches_timer(ms, containerd_header_timeout_ms))
    return "containerd 2.3+'s 30 s response-header timeout.";
  return "no client default: a timeout set for this client or script, or the user stopping it.";
}

// the client gave up before any answer came.
void report_abandoned(entry_facts const& e, std::vector<finding>& out) {
  exchange const& x = *e.x;
  double const waited = ms_to_headers(x);
  std::string text = "The client closed its connection " + format_duration_ms(waited) + " after sending " +
                     x.method + " " + x.url() + ", while regtrace was still ";
  if (failed_in(x, phase::response_relay))
    text += "waiting for the response head (" + format_duration_ms(x.timings.wait) + " of waiting)";
  else
    text += "connecting to " + host_of(x) + " (" + std::string(to_string(x.failure->where)) + ")";
  text += ": no answer ever came from the registry. The time matches " + timer_named(e, waited);
  auto f = make_finding(awaiting_headers, std::move(text),
                        {evidence_of(e, "client gave up after " + format_duration_ms(waited))});
  f.client_error = abandoned_client_error(e);
  out.push_back(std::move(f));
}

void client_timers(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (abandoned_before_answer(*e.x))
      report_abandoned(e, out);
    else if (auto const waited = late_answer(e))
      report_late_answer(e, *waited, out);
  }
}

// How a body stopped before its end, as the entry records it.
enum class stop_manner {
  cut,      ///< the peer closed or reset the connection
  stalled,  ///< no byte moved for the idle timeout, which ended it
  left,     ///< the client closed its connection on its own (its timer, or the user)
};

struct stopped_transfer {
  bool upload = false;  ///< the request body; else the response body
  failing_peer peer = failing_peer::unknown;
  stop_manner manner = stop_manner::cut;
  std::uint64_t bytes = 0;                ///< relayed before it stopped
  std::optional<std::uint64_t> expected;  ///< the Content-Length promised
};

// A Content-Length header's value, when it is one number.
std::optional<std::uint64_t> content_length(std::string const* value) {
  auto const n = value ? read_leading_integer(*value) : std::nullopt;
  if (!n || !n->rest.empty() || n->value < 0) return std::nullopt;
  return static_cast<std::uint64_t>(n->value);
}

stop_manner manner_of(exchange const& x) {
  if (failed_with(x, errc::client_abandoned)) return stop_manner::left;
  if (idle_timed_out(x)) return stop_manner::stalled;
  return stopped_by(x) == failing_peer::client ? stop_manner::left : stop_manner::cut;
}

// The body relay that stopped early on e, or nullopt. Not when the client's timer had already fired
// waiting for the head, nor for an upload the registry answered before taking it all.
std::optional<stopped_transfer> stopped_body(entry_facts const& e) {
  exchange const& x = *e.x;
  if (x.kind != entry_kind::exchange || !x.failure || x.method == "HEAD" ||
      failed_with(x, errc::proxy_stopped))
    return std::nullopt;
  stopped_transfer t;
  t.peer = stopped_by(x);
  t.manner = manner_of(x);
  if (failed_in(x, phase::response_relay) && x.status != 0 && !x.generated_response &&
      !x.response_body.complete) {
    if (late_answer(e)) return std::nullopt;
    t.bytes = x.response_body.bytes;
    t.expected = content_length(e.response_header("Content-Length"));
    return t;
  }
  // A client that left while regtrace still sent its (complete) body upstream stopped an upload too.
  bool const answered = x.status != 0 && !x.generated_response;
  bool const cut_short = !x.request_body.complete || failed_with(x, errc::client_abandoned);
  if (!failed_in(x, phase::request_relay) || !cut_short || answered) return std::nullopt;
  t.upload = true;
  t.bytes = x.request_body.bytes;
  t.expected = content_length(e.request_header("Content-Length"));
  return t;
}

std::string_view peer_name(stopped_transfer const& t) {
  switch (t.peer) {
    case failing_peer::client:
      return "the client";
    case failing_peer::upstream:
      return "the registry (or a hop in front of it)";
    default:
      return "a peer";
  }
}

// "64.0 KiB (65536 bytes) of the 1048576 bytes Content-Length announced" (or "of a length not announced").
std::string progress_text(stopped_transfer const& t) {
  std::string text = format_bytes(t.bytes) + " (" + std::to_string(t.bytes) + " bytes)";
  if (!t.expected) return text + " of a length not announced";
  return text + " of the " + std::to_string(*t.expected) + " bytes Content-Length announced";
}

std::string explain_stop(entry_facts const& e, stopped_transfer const& t) {
  std::string text = e.x->method + " " + e.x->url() + ": the " +
                     (t.upload ? "request body (upload)" : "response body") + " stopped after " +
                     progress_text(t) + ": ";
  switch (t.manner) {
    case stop_manner::stalled:
      text += std::string(peer_name(t)) + " moved no byte for regtrace's idle timeout, which ended the " +
              "transfer (" + e.x->failure->detail + ")";
      if (t.peer == failing_peer::client) text += ". The slow side was the client, not the registry";
      return text + ".";
    case stop_manner::left:
      return text +
             "the client closed its connection first, while regtrace was still relaying. A client timer "
             "(containerd's no-progress timeout, curl --max-time) fires so when the body stops moving on the "
             "registry's side; a user stopping the client looks the same.";
    case stop_manner::cut:
      break;
  }
  return text + std::string(peer_name(t)) + " closed or reset the connection mid-transfer (" +
         e.x->failure->message + "; " + e.x->failure->detail + ").";
}

// What the client printed when the body stopped under it.
std::string stop_client_error(entry_facts const& e, stopped_transfer const& t) {
  if (t.manner == stop_manner::left) return abandoned_client_error(e);
  if (t.upload)
    return "the connection closed under the upload: Go \"write: broken pipe\" or \"connection reset by "
           "peer\"; curl: (55) Send failure";
  if (client_of(e) == client_family::curl)
    return t.expected && *t.expected > t.bytes
               ? "curl: (18) transfer closed with " + std::to_string(*t.expected - t.bytes) +
                     " bytes remaining to read"
               : "curl: (18) transfer closed with outstanding read data remaining";
  return pick_client_text(client_of(e), "unexpected EOF (Docker: \"Download failed, retrying\")",
                          "failed to copy: httpReadSeeker: failed open: ... unexpected EOF",
                          "happened during read: unexpected EOF");
}

void stopped_transfers(facts_span trace, std::vector<finding>& out) {
  for (std::size_t i = 0; i < trace.size(); ++i) {
    auto const t = stopped_body(trace[i]);
    if (!t) continue;
    auto f = make_finding(transfer_stopped, explain_stop(trace[i], *t),
                          {evidence_of(trace[i], "stopped after " + std::to_string(t->bytes) + " bytes, by " +
                                                     std::string(peer_name(*t)))});
    f.client_error = stop_client_error(trace[i], *t);
    // Catalog A-14: WARNING if a retry of the same object completes.
    if (auto const retry = recovered(trace, trace[i])) {
      mark_recovered(f, retry);
      f.evidence.push_back(evidence_of(*retry.by, "retry completed"));
    }
    out.push_back(std::move(f));
  }
}

}  // namespace

std::string abandoned_client_error(entry_facts const& e) {
  exchange const& x = *e.x;
  if (!failed_with(x, errc::client_abandoned)) return {};
  auto const family = client_of(e);
  auto const waited = static_cast<long long>(x.total_ms());
  if (family == client_family::curl)
    return "curl: (28) Operation timed out after ~" + std::to_string(waited) + " milliseconds with " +
           std::to_string(x.response_body.bytes) + " bytes received";
  if (x.status != 0)  // mid-body: the client stopped reading on its own
    return pick_client_text(family, "context canceled", "context canceled (containerd's no-progress timer)",
                            "context canceled");
  if (family == client_family::containerd && matches_timer(ms_to_headers(x), containerd_header_timeout_ms))
    return "net/http: timeout awaiting response headers";
  if (family == client_family::other)
    return "the client's own timeout (it closed the connection while waiting)";
  return short_timer(e) ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                        : "context deadline exceeded";
}

void transport_stop_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {client_timers, stopped_transfers};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
