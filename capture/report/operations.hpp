#pragma once
// The report's story per client operation (issue 12): which `docker login`, pull or push each request
// belonged to, and how each ended. Built from the exchanges alone (catalog §0 "session": requests of
// one client and one repository; catalog §2: the healthy flows of each client), so it holds for any
// HAR, regtrace's or a browser's. Pure: no I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::report {

struct report;

/// What the client was doing.
enum class operation_kind {
  login,  ///< ping, challenge, token request or Basic retry, and no repository content
  pull,   ///< manifests (an index, then a platform manifest), the config and the layers
  push,   ///< blob checks, uploads or mounts, then the manifest PUT
  other,  ///< a tags list, referrers or the catalog on their own
};
std::string_view to_string(operation_kind k);

/// How it ended, as far as the trace shows.
enum class operation_outcome {
  succeeded,   ///< every request it needed was answered and nothing failed for good
  failed,      ///< a request failed and was not retried with success
  incomplete,  ///< nothing failed, but the trace stops before the operation ends (cut short, client left)
};
std::string_view to_string(operation_outcome o);

/// One request of an operation and what it was for.
struct operation_step {
  std::size_t entry = 0;     ///< 0-based log.entries index
  std::size_t exchange = 0;  ///< position in report::exchanges (and in report::entries)
  /// "ping", "token", "index", "manifest", "config", "layer", "blob", "storage" (a redirect's
  /// target), "blob check", "upload", "mount", "tags", "referrers", "catalog".
  std::string role;
};

/// One client operation.
struct operation {
  operation_kind kind = operation_kind::other;
  /// "pull registry.test/team/app:1.0", "login to registry.test as alice" (from the trace: escape it).
  std::string title;
  std::string registry;    ///< "host[:port]" of the registry API
  std::string repository;  ///< "team/app"; "" for a login or the catalog
  std::string reference;  ///< the tag, or the digest when pulled by digest; "" when the trace never names one
  std::string user;       ///< the account a login or token request names ("" when none)
  std::string client;     ///< "docker", "containerd", "skopeo", "podman", "curl", … from the User-Agent
  std::string user_agent;  ///< the whole User-Agent ("" when none)
  operation_outcome outcome = operation_outcome::succeeded;
  /// Why an operation is incomplete when no single request says it: "the trace has no manifest PUT".
  std::string note;
  std::uint64_t bytes = 0;  ///< request and response body bytes of all its requests
  std::size_t blobs = 0;    ///< distinct blobs asked for (pull) or checked, uploaded or mounted (push)
  std::size_t blobs_completed = 0;  ///< of those, received whole (pull) or in the registry at the end (push)
  std::size_t layers = 0;  ///< of the blobs, those the manifest names as layers (0: no manifest body)
  std::size_t layers_completed = 0;      ///< of those layers, completed
  double start_ms = 0;                   ///< first request's start, from the start of the trace
  double duration_ms = 0;                ///< first start to last end
  std::vector<std::string> finding_ids;  ///< findings citing any of its requests, most severe first
  /// The first request that failed for good; for an incomplete operation, the first that got no
  /// complete answer. A position in report::exchanges (report::entries[i] is its row).
  std::optional<std::size_t> first_failure;
  std::vector<operation_step> steps;  ///< in time order
};

/// The operations of a report, in order of their first request. Requests that belong to no operation
/// (a lone ping, anything that is not registry traffic) are left out. Reads r.exchanges, r.entries and
/// r.findings; r.operations is not read.
std::vector<operation> find_operations(report const& r);

/// A User-Agent shortened to the client's name: "docker", "containerd", "skopeo", "podman", "buildah",
/// "curl", else the first product token ("Go-http-client"); "" for none.
std::string client_name(std::string_view user_agent);

}  // namespace regtrace::capture::report
