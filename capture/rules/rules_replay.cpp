// regtrace's own findings about a server replay (SPEC §6): requests the replayed trace could not
// answer. Not catalog failures of a registry; IDs R-xx keep them apart.
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


}  // namespace

void replay_rules(facts_span trace, std::vector<finding>& out) {
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

}  // namespace regtrace::capture::rules::detail
