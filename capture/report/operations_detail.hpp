#pragma once
// Internal to the report model: the two halves of finding operations. operations_group.cpp sorts the
// exchanges into drafts, one per client operation; operations.cpp says what each draft did and how it
// ended.

#include "capture/model/exchange.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/report/operations.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regtrace::capture::report::ops {

/// One request of a draft, classified once.
struct draft_step {
  std::size_t exchange = 0;  ///< position in report::exchanges
  registry::classification cls;
  std::optional<std::size_t> origin;  ///< the exchange whose redirect (30x Location) this request followed
};

/// The requests of one operation, before anyone says what they amount to.
struct draft {
  std::string registry;    ///< "host[:port]"
  std::string repository;  ///< "" for a login or the catalog
  /// Only a ping and token requests, never a repository request: a login, or (when a token names a
  /// repository scope) a pull or push the trace shows only the start of.
  bool prelude = false;
  std::string scope_actions;      ///< prelude: the actions its token asked for ("pull", "pull,push")
  std::vector<draft_step> steps;  ///< in time order
};

/// Who sent a request: the User-Agent and the client's address without its port (dockerd opens a
/// connection per request: the port changes, the client does not).
std::string client_key(exchange const& x);

/// For each exchange, the one whose redirect it followed: the first later request of the same client
/// to the Location's host, port and path. order lists the exchanges by start, clients their client_key.
std::vector<std::optional<std::size_t>> redirect_origins(report const& r,
                                                         std::vector<std::size_t> const& order,
                                                         std::vector<std::string> const& clients);

/// A query parameter's decoded value ("+" as a space: form bodies use the same syntax), or "".
std::string param(std::string_view query, std::string_view key);

/// param() of the request target's query.
std::string query_value(exchange const& x, std::string_view key);

/// The repository and actions a token request asks for, from the scope in its query or (a POST,
/// catalog §4.2) its form body: "repository:team/app:pull,push" gives {"team/app", "pull,push"}.
std::pair<std::string, std::string> token_scope(exchange const& x);

/// The account a request names: a token request's account= (or a form's username=), the user kept
/// in a redacted Basic credential ("Basic <redacted user=alice sha256:…>", catalog §5), or the
/// decoded Basic user; "" when none.
std::string user_of(exchange const& x);

/// The drafts of a report, in order of their first request.
std::vector<draft> group_exchanges(report const& r);

/// How a draft ended (operations_outcome.cpp): fills the steps' roles, the blob counts, the outcome,
/// note and first failure of op, whose kind and steps (one per draft step) are set.
void judge(report const& r, draft const& d, operation& op);

/// What a draft amounts to: kind, title, outcome, counts, timing, findings.
operation summarise(report const& r, draft const& d);

}  // namespace regtrace::capture::report::ops
