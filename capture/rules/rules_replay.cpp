// regtrace's own findings, not catalog failures of a registry (IDs R-xx keep them apart): requests a
// server replay (SPEC §6) could not answer, and requests regtrace itself refused as no valid proxy
// request.
#include "capture/rules/rules_detail.hpp"


namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry no_match{
    "R-01", "REPLAY_NO_MATCH", severity::warning,
    "The replayed trace has no answer for a request the client made",
    "unknown: regtrace replay: TRACE has no recorded answer for METHOD URL",
    "The client did something the recorded one did not (another tag, platform or a different number of "
    "retries). Record again with the same client and image, or compare the two traces with `regtrace "
    "report`."};

constexpr catalog_entry body_missing{
    "R-02", "REPLAY_BODY_MISSING", severity::error,
    "The replayed trace matched the request but does not hold the body of the answer",
    "received unexpected HTTP status: 502 Bad Gateway",
    "HAR files keep text bodies only. Record with `regtrace proxy --store-bodies DIR` to keep blob and "
    "manifest bodies, and replay with the same DIR."};

constexpr catalog_entry invalid_proxy_request{
    "R-03", "INVALID_PROXY_REQUEST", severity::error,
    "The client sent regtrace a request no proxy can serve",
    "400 Bad Request from regtrace (curl: \"CONNECT tunnel failed, response 400\"; Go: \"Bad Request\")",
    "Fix the client or script that builds the proxy request: CONNECT needs host:port with a port from 1 to "
    "65535 (CONNECT registry.example:443), and a plain-HTTP request through a proxy needs an absolute URL "
    "(GET http://registry.example/v2/)."};

// A CONNECT target that is not host:port (RFC 9110 §9.3.6), or a request line a proxy cannot route
// (origin-form, unparsable). A TLS handshake on the proxy port is A-01's.
bool refused_as_invalid(exchange const& x) {
  return failed_in(x, phase::connect_request) &&
         (failed_with(x, errc::bad_connect_target) || failed_with(x, errc::malformed_request));
}

// a request regtrace refused as one no proxy can serve, quoting it; each distinct request is a
// cause of its own (the merge by cause counts its repeats).
void invalid_proxy_requests(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    exchange const& x = *e.x;
    if (!refused_as_invalid(x)) continue;
    auto const& request = x.failure->detail;
    std::string text = failed_with(x, errc::bad_connect_target)
                           ? "The client sent " + quoted(request) +
                                 ": a CONNECT target must be host:port with a port from 1 to 65535."
                           : "regtrace could not route the request (" + quoted(request) +
                                 "): a proxy needs CONNECT host:port, or an absolute URL for plain HTTP.";
    text += " regtrace answered " + std::to_string(x.status) + " " + x.reason +
            "; nothing reached a registry, and no corporate proxy was involved.";
    auto f = make_finding(invalid_proxy_request, std::move(text), {evidence_of(e, request)});
    f.cause = request;
    out.push_back(std::move(f));
  }
}

void replay_answers(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (failed_with(*e.x, errc::replay_no_match))
      out.push_back(make_finding(no_match, "The replay answered " + e.x->method + " " + e.x->url() +
                                               " with 404: no entry of the replayed trace matches it.",
                                 {evidence_of(e)}));
    else if (failed_with(*e.x, errc::replay_body_missing))
      out.push_back(make_finding(body_missing, e.x->failure->message + ": " + e.x->failure->detail + ".",
                                 {evidence_of(e)}));
  }
}

}  // namespace

void replay_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {replay_answers, invalid_proxy_requests};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
