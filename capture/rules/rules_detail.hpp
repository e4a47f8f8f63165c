#pragma once
// Internal to the rules engine: what every rule reads about an entry, computed once, and the small
// helpers the rule groups share. Each group (rules_transport*.cpp A-*, rules_auth*.cpp B-*,
// rules_api*.cpp C-*, rules_redirect*.cpp D-*, rules_vendor.cpp E-*, rules_replay.cpp R-*) appends its
// findings to `out`.

#include "capture/model/exchange.hpp"
#include "capture/registry/challenge.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/registry/error_body.hpp"
#include "capture/rules/finding.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/percent.hpp"
#include "capture/text/url.hpp"

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::rules::detail {

// The rules read the registry protocol's vocabulary (classification, challenges, error bodies, JWTs)
// on every line: name it unqualified here, as when the rules lived beside the parsers.
using namespace capture::registry;

/// One trace entry with what the rules read from it, parsed once.
struct entry_facts {
  std::size_t index = 0;  ///< position in the trace (0-based), for evidence
  exchange const* x = nullptr;
  classification cls;
  error_body error;  ///< parsed response body when status >= 400 (and for token answers); else none
  std::vector<auth_challenge> challenges;  ///< every challenge of every WWW-Authenticate header
  /// The trace ends here for good (offline, or the proxy has stopped): a client that sent nothing
  /// after an entry did stop there. Live, the next request may simply not be recorded yet.
  bool trace_complete = true;

  /// First registry error code ("MANIFEST_UNKNOWN"), else the vendor XML code (or x-ms-error-code),
  /// else "".
  std::string const& error_code() const;
  /// The challenge with this scheme ("bearer", "basic"), or nullptr.
  auth_challenge const* challenge(std::string_view scheme) const;
  bool is_registry_api() const;  ///< a /v2/ request, or the answer carries Docker-Distribution-Api-Version
  bool has_authorization() const;  ///< the request carried an Authorization header
  std::string const* request_header(std::string_view name) const;
  std::string const* response_header(std::string_view name) const;
};
using facts_span = std::span<entry_facts const>;

/// Parses every entry once. first_index is the trace position of entries[0].
std::vector<entry_facts> analyse(std::span<exchange const> entries, std::size_t first_index,
                                 bool trace_complete = true);

/// "GET https://r.test/v2/app/manifests/v1 → 404 MANIFEST_UNKNOWN" (status 0 shows the failure).
std::string describe(entry_facts const& e);
/// describe(e) followed by "; " and note when note is not empty.
evidence_item evidence_of(entry_facts const& e, std::string_view note = {});
/// The first registry error message, else the XML/HTML/text message, else "".
std::string error_message(entry_facts const& e);

/// The fixed text of one catalog entry; rules add the explanation and evidence.
struct catalog_entry {
  std::string_view id;
  std::string_view name;
  severity level;
  std::string_view title;
  std::string_view client_error;
  std::string_view remediation;
};
finding make_finding(catalog_entry const& entry, std::string explanation, std::vector<evidence_item> items);

/// Seconds between the starts of two entries (b - a), from their recorded start times.
double seconds_between(entry_facts const& a, entry_facts const& b);
/// Time from the request's start to its response headers, ms (blocked+dns+connect+send+wait).
double ms_to_headers(exchange const& x);
/// Lower-cased host without port ("r.test").
std::string host_of(exchange const& x);
/// text in double quotes, for explanations.
std::string quoted(std::string_view text);
/// When the request started, in seconds since the epoch (to compare with token and URL times).
std::int64_t epoch_seconds(exchange const& x);
/// The query of a request target ("a=1&b=2"), or "" when it has none.
std::string_view query_of(std::string_view target);
/// A request target without its query ("/v2/token"), the whole target when it has none.
std::string_view path_of(std::string_view target);
/// "Name: value, Name: value" for those of these response headers the answer carries, in this order
/// and spelling; "" when it carries none.
std::string response_headers_text(entry_facts const& e, std::initializer_list<std::string_view> names);

/// A decimal integer at the start of a header value and the text after it.
struct leading_integer {
  long long value = 0;
  std::string_view rest;  ///< what follows the digits ("-" in "bytes=100-")
};
/// The integer after prefix ("100;w=21600", "bytes=100-" after "bytes="); nullopt when text does not
/// start with prefix followed by a number.
std::optional<leading_integer> read_leading_integer(std::string_view text, std::string_view prefix = {});

/// Catalog §0 session: b may come from the same client as a (same client IP, or either address
/// unknown as in other tools' HARs) and starts within 120 s of it. Defined in rules_session.cpp.
bool same_client(entry_facts const& a, entry_facts const& b);
/// "scheme://host[:port]/path?query" with scheme and host lower-cased and a default port dropped,
/// so a realm or Location compares with exchange::url(). Defined in rules_session.cpp.
std::string normalize_url(std::string_view url);
/// The entry never reached its host: a failed CONNECT, or no upstream answer because resolving,
/// connecting or the TLS handshake failed (not when regtrace itself was stopped mid-way). Defined in
/// rules_session.cpp.
bool host_unreachable(exchange const& x);

/// A GET or HEAD. Defined in rules_session.cpp, as are the three below.
bool is_read(entry_facts const& e);
/// Status 2xx or 3xx: the request got what it asked for (a redirect is followed elsewhere).
bool succeeded(entry_facts const& e);
/// Same host (case-insensitive), port and request target.
bool same_url(entry_facts const& a, entry_facts const& b);
/// Same host (case-insensitive) and repository NAME.
bool same_repository(entry_facts const& a, entry_facts const& b);

/// How the client got past a failure (issue 12; catalog, C-13, C-14: a failure the client
/// recovered from is less severe): the later request that succeeded.
struct recovery {
  entry_facts const* by = nullptr;  ///< the request that succeeded
  bool whole_operation = false;     ///< by completed the operation (a push), not the same request
  explicit operator bool() const { return by != nullptr; }
};
/// A condition a rule puts on the later request (A-11: it asks for no byte range).
using later_check = bool (*)(entry_facts const& failed, entry_facts const& later);
/// The one answer to "did the client recover from the failure at e": the first later request of the
/// same client (same_client) that got what e asked for. The same request (the same method, GET and
/// HEAD alike, and URL, answered 2xx/3xx, a GET's body complete), the same blob or manifest digest,
/// or tag on the same host, of e's repository through another URL, a token from the same realm for a
/// token request; or the same operation carried through: after a write or a HEAD in a repository, a
/// manifest PUT accepted there (the push completed). e must be an element of trace. Defined in
/// rules_session.cpp.
recovery recovered(facts_span trace, entry_facts const& e, later_check also = nullptr);
/// Lowers f to `to` (never raises it) and says so: "Recovered: the client retried and #42 succeeded."
/// Marks f's requests as recovered (recovered_on), so a merged finding counts them.
void mark_recovered(finding& f, recovery const& r, severity to = severity::warning);

/// The largest evidence entry of f (the request that completed it); f must have evidence. Defined in
/// rules_causes.cpp, as is the rest of this block.
std::size_t last_evidence_entry(finding const& f);
/// The entries of these evidence items, in their order: seen_on for a rule that groups requests.
std::vector<std::size_t> entries_of(std::vector<evidence_item> const& items);

/// Issue 12, one cause, one finding: fills in each finding's default seen_on (its last evidence entry)
/// and cause (the host of that entry; entries[i] is trace entry first_index + i), then merges the
/// findings with the same id and cause into one, in the place of the first (see combine). Explanations
/// do not state the count yet (state_count), so the live window can merge again.
void merge_by_cause(std::vector<finding>& found, std::span<exchange const> entries, std::size_t first_index);
/// Merges from into into (same id and cause): evidence, seen_on and recovered_on in trace order, each
/// entry once; the level, title and texts of the more severe of the two (into's when equal).
void combine(finding& into, finding from);
/// Appends to a finding seen on several requests how many and which ("Seen on 12 requests (#4, #7,
/// … #31).") and how many the client recovered from.
void state_count(finding& f);
/// The entry failed in this phase. Defined in rules_session.cpp, with the two below.
bool failed_in(exchange const& x, phase where);
/// An idle timeout ended the entry: regtrace's own (upstream_timeout, client_timeout) or the body
/// relay's (Beast's timeout error).
bool idle_timed_out(exchange const& x);
/// Who stopped the entry, as the failure records it (failing_peer::unknown without one).
failing_peer stopped_by(exchange const& x);

/// Which client library sent a request, from its User-Agent; decides the "client sees" text.
enum class client_family { docker, containerd, containers_image, curl, other };
/// Defined in rules_session.cpp, with the two below.
client_family client_of(entry_facts const& e);
/// The text for this client: containerd's, containers/image's, else Docker's (catalog §1.4).
std::string pick_client_text(client_family c, std::string docker, std::string containerd,
                             std::string containers_image);
/// The request's User-Agent, or "" without one.
std::string user_agent_of(entry_facts const& e);

/// What a client that gave up waiting (errc::client_abandoned) printed, from its User-Agent and the
/// request (Go's 15 s ping and token timer, containerd's header timeout, curl --max-time); "" when the
/// client did not abandon the entry. Defined in rules_transport_stops.cpp.
std::string abandoned_client_error(entry_facts const& e);

/// A rule, or a group of them: reads the whole trace and appends its findings to out.
using rule = void (*)(facts_span trace, std::vector<finding>& out);
/// Runs the rules in order; findings of equal severity and first entry keep this order.
void run_rules(std::span<rule const> rules, facts_span trace, std::vector<finding>& out);

void transport_rules(facts_span trace, std::vector<finding>& out);         // A-01..A-06, A-08, A-17
void transport_answer_rules(facts_span trace, std::vector<finding>& out);  // A-10..A-13, A-15
void transport_stop_rules(facts_span trace, std::vector<finding>& out);
void transport_bypass_rules(facts_span trace, std::vector<finding>& out);
void auth_rules(facts_span trace, std::vector<finding>& out);       // B-*
void api_rules(facts_span trace, std::vector<finding>& out);        // C-*
void redirect_rules(facts_span trace, std::vector<finding>& out);   // D-*
void vendor_rules(facts_span trace, std::vector<finding>& out);     // E-*
void replay_rules(facts_span trace, std::vector<finding>& out);     // R-*: regtrace's own (replay, refusals)

}  // namespace regtrace::capture::rules::detail
