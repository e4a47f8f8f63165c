// How an operation ended (issue 12): each request's part in it, the blobs it moved, and the outcome.
// Clients retry (catalog §2: containerd's 401 → token → the same request again, dockerd's five
// attempts per layer), so a failure counts only when no later request for the same thing succeeded.
// A request the trace ends in (regtrace stopped, the client went away) leaves the operation
// incomplete rather than failed, unless the diagnosis calls it an error (a client timeout, a stall).
#include "capture/report/operations_detail.hpp"
#include "capture/report/report.hpp"
#include "capture/text/ascii.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace regtrace::capture::report::ops {
namespace {

using registry::request_kind;

enum class answer { ok, expected, failed, cut };

/// What one request of the operation did.
struct step_facts {
  std::string
      digest;       ///< the blob or manifest it moves; a redirect's target and an upload session inherit it
  std::string key;  ///< what it asked for: a later success on the same key makes up for a failure
  answer state = answer::ok;
  bool done = false;  ///< answered, and finally (not with a redirect)
};

/// The digests a manifest names (schema 2 and OCI: config and layers; schema 1: fsLayers).
struct manifest_doc {
  bool index = false;
  std::set<std::string> configs;
  std::set<std::string> layers;
};

std::string digest_in(nlohmann::json const& descriptor, char const* member) {
  if (!descriptor.is_object()) return {};
  auto const it = descriptor.find(member);
  return it != descriptor.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The manifest a request sent (PUT) or received, from its Content-Type and kept body.
void read_manifest(exchange const& x, manifest_doc& doc) {
  bool const put = x.method == "PUT";
  auto const& body = put ? x.request_body : x.response_body;
  auto const* type = find_header(put ? x.request_headers : x.response_headers, "Content-Type");
  doc.index = type && (icontains(*type, "image.index") || icontains(*type, "manifest.list"));
  if (!body.text_kept || body.text.empty()) return;
  auto const json = nlohmann::json::parse(body.text, nullptr, false);
  if (!json.is_object()) return;
  doc.index = doc.index || json.contains("manifests");
  if (auto const config = json.find("config"); config != json.end())
    if (auto d = digest_in(*config, "digest"); !d.empty()) doc.configs.insert(std::move(d));
  for (auto const& [list, member] : {std::pair{"layers", "digest"}, std::pair{"fsLayers", "blobSum"}}) {
    auto const layers = json.find(list);
    if (layers == json.end() || !layers->is_array()) continue;
    for (auto const& layer : *layers)
      if (auto d = digest_in(layer, member); !d.empty()) doc.layers.insert(std::move(d));
  }
}

bool stopped_by_proxy_or_client(exchange const& x) {
  if (!x.failure) return true;  // a HAR entry without an answer: the trace does not say why
  return failed_with(x, errc::proxy_stopped) || failed_with(x, errc::client_abandoned);
}

bool diagnosed_error(report const& r, std::size_t entry) {
  return std::ranges::any_of(r.findings, [&](rules::finding const& f) {
    return f.level >= rules::severity::error &&
           std::ranges::any_of(f.evidence, [&](rules::evidence_item const& e) { return e.entry == entry; });
  });
}

answer answer_of(report const& r, draft_step const& step, bool push) {
  exchange const& x = r.exchanges[step.exchange];
  if (x.status == 0 || !x.response_body.complete)
    return stopped_by_proxy_or_client(x) && !diagnosed_error(r, r.entries[step.exchange].index)
               ? answer::cut
               : answer::failed;
  if (x.status < 400) return answer::ok;
  auto const kind = step.cls.kind;
  if (kind == request_kind::ping && x.status == 401) return answer::expected;  // the challenge
  // A push asks whether a blob or manifest is there before it sends it (catalog §2).
  bool const check = x.method == "HEAD" || x.method == "GET";
  if (push && x.status == 404 && check && (kind == request_kind::blob || kind == request_kind::manifest))
    return answer::expected;
  return answer::failed;
}

/// The upload session (UUID) a request belongs to: in its path, or the Location a POST answered.
std::string upload_session(exchange const& x, registry::classification const& c) {
  if (!c.upload_id.empty()) return c.upload_id;
  auto const* location = find_header(x.response_headers, "Location");
  return location ? registry::classify("PATCH", x.host, *location).upload_id : std::string();
}

std::string key_of(draft_step const& s, exchange const& x, std::string const& digest, bool push) {
  auto const kind = s.cls.kind;
  if (kind == request_kind::ping || kind == request_kind::token)
    return std::string(registry::to_string(kind));
  if (kind == request_kind::manifest)
    return (x.method == "PUT" ? "manifest PUT " : "manifest ") + s.cls.reference;
  bool const moves_blob = kind == request_kind::blob || kind == request_kind::upload || s.origin;
  if (moves_blob && !digest.empty()) return (push ? "push " : "blob ") + digest;
  return x.method + " " + x.target.substr(0, x.target.find('?'));
}

std::vector<step_facts> facts_of(report const& r, draft const& d, bool push) {
  std::map<std::string, std::string> session_digest;  // upload UUID → the digest its PUT (or mount) names
  for (auto const& s : d.steps)
    if (s.cls.kind == request_kind::upload && !s.cls.digest.empty())
      if (auto session = upload_session(r.exchanges[s.exchange], s.cls); !session.empty())
        session_digest[session] = s.cls.digest;
  std::map<std::size_t, std::size_t> position;  // exchange → index in steps
  std::vector<step_facts> out;
  for (auto const& s : d.steps) {
    exchange const& x = r.exchanges[s.exchange];
    step_facts f;
    f.digest = s.cls.digest;
    if (s.cls.kind == request_kind::upload && f.digest.empty())
      if (auto it = session_digest.find(upload_session(x, s.cls)); it != session_digest.end())
        f.digest = it->second;
    if (s.origin)
      if (auto it = position.find(*s.origin); it != position.end()) f.digest = out[it->second].digest;
    f.state = answer_of(r, s, push);
    f.done = f.state == answer::ok && !(x.status >= 300 && x.status < 400);
    f.key = key_of(s, x, f.digest, push);
    position[s.exchange] = out.size();
    out.push_back(std::move(f));
  }
  return out;
}

std::string role_of(draft_step const& s, exchange const& x, std::string const& digest,
                    manifest_doc const& m) {
  auto const kind = s.cls.kind;
  if (kind == request_kind::manifest) {
    manifest_doc own;
    read_manifest(x, own);
    return own.index ? "index" : "manifest";
  }
  if (kind == request_kind::upload)
    return x.method == "POST" && !query_value(x, "mount").empty() ? "mount" : "upload";
  if (kind == request_kind::storage || (s.origin && kind != request_kind::blob)) return "storage";
  if (kind != request_kind::blob) return std::string(registry::to_string(kind));
  if (x.method == "HEAD") return "blob check";
  return m.configs.contains(digest) ? "config" : m.layers.contains(digest) ? "layer" : "blob";
}

/// Blobs asked for and completed: a pull's whole answers, a push's blobs the registry holds at the
/// end (HEAD 200, the upload's closing PUT, a mount's 201).
void count_blobs(report const& r, draft const& d, std::vector<step_facts> const& facts, manifest_doc const& m,
                 operation& op) {
  bool const push = op.kind == operation_kind::push;
  std::set<std::string> asked, completed;
  for (std::size_t i = 0; i < d.steps.size(); ++i) {
    auto const& s = d.steps[i];
    exchange const& x = r.exchanges[s.exchange];
    auto const& f = facts[i];
    bool const blob = s.cls.kind == request_kind::blob;
    bool const moved = push ? (blob && x.method == "HEAD") || s.cls.kind == request_kind::upload
                            : (blob && x.method == "GET") || s.origin;
    if (!moved || f.digest.empty()) continue;
    asked.insert(f.digest);
    bool const there =
        x.method == "HEAD" ? x.status == 200 : x.method == "PUT" || (x.method == "POST" && x.status == 201);
    if (f.done && (!push || there)) completed.insert(f.digest);
  }
  op.blobs = asked.size();
  op.blobs_completed = completed.size();
  op.layers = static_cast<std::size_t>(
      std::ranges::count_if(asked, [&](auto const& b) { return m.layers.contains(b); }));
  op.layers_completed = static_cast<std::size_t>(
      std::ranges::count_if(completed, [&](auto const& b) { return m.layers.contains(b); }));
}

/// The first request in this state that no later request for the same thing made up for.
std::optional<std::size_t> first_unrecovered(std::vector<step_facts> const& facts, answer state) {
  for (std::size_t i = 0; i < facts.size(); ++i) {
    if (facts[i].state != state) continue;
    bool const recovered =
        std::any_of(facts.begin() + static_cast<std::ptrdiff_t>(i) + 1, facts.end(),
                    [&](step_facts const& later) { return later.done && later.key == facts[i].key; });
    if (!recovered) return i;
  }
  return std::nullopt;
}

/// Why a pull or push that nothing failed in is not finished either, or "".
std::string unfinished(report const& r, draft const& d, std::vector<step_facts> const& facts,
                       operation const& op) {
  bool manifest = false;
  for (std::size_t i = 0; i < d.steps.size(); ++i) {
    bool const put = r.exchanges[d.steps[i].exchange].method == "PUT";
    manifest = manifest || (d.steps[i].cls.kind == request_kind::manifest && facts[i].done &&
                            put == (op.kind == operation_kind::push));
  }
  if (op.kind == operation_kind::push && !manifest) return "the trace ends before the manifest PUT";
  if (op.kind != operation_kind::pull) return {};
  if (!manifest && op.blobs == 0) return "the trace ends before the client asked for the manifest";
  if (op.blobs_completed < op.blobs)
    return "the trace has no complete answer for " + std::to_string(op.blobs - op.blobs_completed) +
           " of its " + std::to_string(op.blobs) + " blobs";
  return {};
}

}  // namespace

void judge(report const& r, draft const& d, operation& op) {
  bool const push = op.kind == operation_kind::push;
  auto const facts = facts_of(r, d, push);
  manifest_doc m;
  for (auto const& s : d.steps)
    if (s.cls.kind == request_kind::manifest) {
      manifest_doc one;
      read_manifest(r.exchanges[s.exchange], one);
      m.configs.merge(one.configs);
      m.layers.merge(one.layers);
    }
  for (std::size_t i = 0; i < d.steps.size(); ++i)
    op.steps[i].role = role_of(d.steps[i], r.exchanges[d.steps[i].exchange], facts[i].digest, m);
  count_blobs(r, d, facts, m, op);
  if (auto const i = first_unrecovered(facts, answer::failed)) {
    op.outcome = operation_outcome::failed;
    op.first_failure = d.steps[*i].exchange;
    return;
  }
  if (auto const i = first_unrecovered(facts, answer::cut)) {
    op.outcome = operation_outcome::incomplete;
    op.first_failure = d.steps[*i].exchange;
    return;
  }
  op.note = unfinished(r, d, facts, op);
  if (!op.note.empty()) op.outcome = operation_outcome::incomplete;
}

}  // namespace regtrace::capture::report::ops
