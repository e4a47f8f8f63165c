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

/// The entry failed with this regtrace error code (compared as code, never as text: STYLE rule 5).
bool failed_with(exchange const& x, errc code);

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
