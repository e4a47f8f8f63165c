#pragma once
// Internal to the group D rules (rules_redirect.cpp: each 30x linked to the request that fetched its
// Location; rules_redirect_signature.cpp: storage refusing a pre-signed URL) and to A-09
// (rules_transport_bypass.cpp: a Location no request reached regtrace for): the redirect they read,
// and what storage answered.

#include "capture/rules/rules_detail.hpp"

#include <optional>
#include <string>
#include <vector>

namespace regtrace::capture::rules::detail {

/// One 30x and what became of its Location.
struct redirect {
  std::size_t from = 0;               ///< position of the 30x answer
  std::string location;               ///< absolute
  exchange target;                    ///< the Location split into scheme, host, port, target
  bool storage = false;               ///< pre-signed or storage host (catalog §7.1)
  bool foreign = false;               ///< another host name than the one that answered
  std::optional<std::size_t> follow;  ///< the request that fetched the Location
};

/// Every 30x of the trace with an absolute (or resolvable) Location, linked to the request that followed
/// it (catalog §7.3). Defined in rules_redirect.cpp.
std::vector<redirect> find_redirects(facts_span trace);
/// No request reached the redirect target, and the client asked the registry for the same URL again:
/// the position of that repeated request, else nullopt. Defined in rules_redirect.cpp.
std::optional<std::size_t> asked_again(facts_span trace, redirect const& r);

/// The storage service's own words: x-ms-error-code or the XML <Code>, and its <Message>.
std::string storage_answer(entry_facts const& e);

/// D-02 and D-03 on the storage request at s; r is the redirect it followed, when the trace links one.
void signature_rules(facts_span trace, std::size_t s, redirect const* r, std::vector<finding>& out);

}  // namespace regtrace::capture::rules::detail
