// What each operation amounts to (issue 12): its kind, title and client, the blobs it moved, its time
// span and the findings on its requests. How it ended is operations_outcome.cpp.
#include "capture/report/operations.hpp"

#include "capture/model/name_table.hpp"
#include "capture/report/operations_detail.hpp"
#include "capture/report/report.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/display.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace regtrace::capture::report {
namespace {

using registry::request_kind;
using exchange_list = std::vector<exchange>;

operation_kind kind_of(exchange_list const& xs, ops::draft const& d) {
  if (d.prelude) {
    if (d.repository.empty()) return operation_kind::login;
    return d.scope_actions.find("push") != std::string::npos ? operation_kind::push : operation_kind::pull;
  }
  bool read = false;
  for (auto const& step : d.steps) {
    auto const& c = step.cls;
    auto const& method = xs[step.exchange].method;
    if (c.kind == request_kind::upload || (c.kind == request_kind::manifest && method == "PUT") ||
        (c.kind == request_kind::blob && method == "HEAD"))
      return operation_kind::push;
    read = read || c.kind == request_kind::manifest || c.kind == request_kind::blob || step.origin;
  }
  return read ? operation_kind::pull : operation_kind::other;
}

/// The tag or digest the operation is about: the first manifest read (a tag before a digest: the
/// platform manifest an index points to is not what the user asked for); for a push the last
/// manifest PUT, preferring a tag (the index after its platform manifests).
std::string reference_of(exchange_list const& xs, ops::draft const& d, operation_kind kind) {
  std::string by_tag, by_digest;
  for (auto const& step : d.steps) {
    auto const& c = step.cls;
    bool const put = xs[step.exchange].method == "PUT";
    if (c.kind != request_kind::manifest || put != (kind == operation_kind::push)) continue;
    auto& slot = c.digest.empty() ? by_tag : by_digest;
    if (slot.empty() || put) slot = c.reference;
  }
  return by_tag.empty() ? by_digest : by_tag;
}

std::string title_of(operation const& op, request_kind first) {
  std::string image = op.registry + (op.repository.empty() ? "" : "/" + op.repository);
  if (!op.reference.empty())
    image += (op.reference.find(':') != std::string::npos ? "@" : ":") + op.reference;
  // Digests cut to 12 hex digits, as in the request table.
  image = shorten_target(image, 4096);
  switch (op.kind) {
    case operation_kind::login:
      return "login to " + op.registry + (op.user.empty() ? "" : " as " + op.user);
    case operation_kind::pull:
      return "pull " + image;
    case operation_kind::push:
      return "push " + image;
    case operation_kind::other:
      break;
  }
  if (first == request_kind::catalog) return "catalog of " + op.registry;
  return std::string(registry::to_string(first)) + " of " + image;
}

std::vector<std::string> finding_ids_of(report const& r, operation const& op) {
  std::set<std::size_t> entries;
  for (auto const& step : op.steps) entries.insert(step.entry);
  std::vector<std::string> ids;
  for (auto const& f : r.findings) {  // most severe first
    bool const cited =
        std::ranges::any_of(f.evidence, [&](auto const& e) { return entries.contains(e.entry); });
    if (cited && std::ranges::find(ids, f.id) == ids.end()) ids.push_back(f.id);
  }
  return ids;
}

}  // namespace

std::string_view to_string(operation_kind k) {
  static constexpr name_table<operation_kind, 4> names{{
      {operation_kind::login, "login"},
      {operation_kind::pull, "pull"},
      {operation_kind::push, "push"},
      {operation_kind::other, "other"},
  }};
  return name_of(names, k, "other");
}

std::string_view to_string(operation_outcome o) {
  static constexpr name_table<operation_outcome, 3> names{{
      {operation_outcome::succeeded, "succeeded"},
      {operation_outcome::failed, "failed"},
      {operation_outcome::incomplete, "incomplete"},
  }};
  return name_of(names, o, "incomplete");
}

std::string client_name(std::string_view user_agent) {
  // dockerd names itself first even when it embeds containerd's resolver (containerd image store).
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> known{{
      {"docker/", "docker"},
      {"containerd/", "containerd"},
      {"skopeo/", "skopeo"},
      {"podman/", "podman"},
      {"libpod/", "podman"},
      {"buildah/", "buildah"},
      {"cri-o/", "cri-o"},
      {"go-containerregistry/", "crane"},
      {"containers/", "containers/image"},
      {"curl/", "curl"},
  }};
  auto const agent = to_lower(user_agent);
  for (auto const& [product, name] : known)
    if (agent.starts_with(product) || agent.find(" " + std::string(product)) != std::string::npos)
      return std::string(name);
  auto const text = trim_ows(user_agent);
  return std::string(text.substr(0, std::min<std::size_t>(text.find_first_of(" /("), 40)));
}

namespace ops {

operation summarise(report const& r, draft const& d) {
  operation op;
  op.kind = kind_of(r.exchanges, d);
  op.registry = d.registry;
  op.repository = d.repository;
  op.reference = reference_of(r.exchanges, d, op.kind);
  double end_ms = 0;
  for (auto const& step : d.steps) {
    exchange const& x = r.exchanges[step.exchange];
    auto const& row = r.entries[step.exchange];
    op.steps.push_back({row.index, step.exchange, {}});
    op.bytes += x.request_body.bytes + x.response_body.bytes;
    if (op.steps.size() == 1 || row.start_ms < op.start_ms) op.start_ms = row.start_ms;
    end_ms = std::max(end_ms, row.start_ms + std::max(0.0, row.time_ms));
    if (op.user.empty()) op.user = ops::user_of(x);
    if (auto const* agent = find_header(x.request_headers, "User-Agent"); agent && op.user_agent.empty())
      op.user_agent = *agent;
  }
  op.duration_ms = std::max(0.0, end_ms - op.start_ms);
  op.client = client_name(op.user_agent);
  judge(r, d, op);
  op.title = title_of(op, d.steps.front().cls.kind);
  op.finding_ids = finding_ids_of(r, op);
  return op;
}

}  // namespace ops

std::vector<operation> find_operations(report const& r) {
  std::vector<operation> out;
  for (auto const& d : ops::group_exchanges(r)) out.push_back(ops::summarise(r, d));
  return out;
}

}  // namespace regtrace::capture::report
