#pragma once
// Server replay's matching (SPEC §6, issue 4): which recorded exchange answers a live request. Made for
// registries: method, host, repository, reference or digest and Range must agree; what redaction and
// time change (credentials, signature query values, upload state, upload UUIDs) is ignored. Entries
// are consumed in order, so retries and 401-then-200 sequences replay as they were recorded.

#include "capture/model/exchange.hpp"

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::replay {

/// The match key of a request: "GET registry.test:5443 /v2/app/blobs/uploads/{upload}?_state=&digest=sha256:..
/// range=bytes=0-". Authority lower-cased, default ports dropped; volatile query values emptied.
std::string match_key(std::string_view method, std::string_view scheme, std::string_view host,
                      std::uint16_t port, std::string_view target, std::string_view range);
/// match_key of a recorded exchange.
std::string match_key(exchange const& x);

/// Whether a recorded exchange can answer a request: it has a response (status != 0), or the client
/// abandoned it before any came (replayed as the same silence).
bool can_answer(exchange const& recorded);

/// Answers live requests from recorded exchanges. It keeps only their match keys, so a replay of a
/// large trace holds no bodies or headers (issue 13). Not thread-safe: the caller serialises.
class matcher {
 public:
  /// Adds a recorded exchange at position index of its trace when can_answer(recorded); returns
  /// whether it was added. Added answers are numbered 0, 1, 2... in the order they were added.
  bool add(exchange const& recorded, std::size_t index);

  struct match {
    std::size_t index = 0;   ///< position in the trace it came from
    std::size_t answer = 0;  ///< its number among the added answers
    bool repeated = false;   ///< every entry with this key was used already; the last one answers again
  };
  /// The next recorded answer for this request, or nullopt when the trace has none.
  std::optional<match> next(std::string_view key);

  std::size_t size() const { return trace_index_.size(); }

 private:
  std::vector<std::size_t> trace_index_;  ///< per added answer
  struct queue {
    std::vector<std::size_t> answers;  ///< in trace order
    std::size_t used = 0;
  };
  std::map<std::string, queue, std::less<>> by_key_;
};

}  // namespace regtrace::capture::replay
