// Catalog §3 group C rules for writes: C-08 manifest rejected, C-09 upload session lost, C-10
// digest/size invalid, C-11 quota, C-12 write disallowed.
#include "capture/rules/rules_api_common.hpp"
#include "capture/rules/rules_detail.hpp"

#include <string>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry c08{
    "C-08",
    "MANIFEST_PUSH_REJECTED",
    severity::error,
    "The registry rejected the manifest PUT",
    "manifest invalid: manifest invalid",
    "Push every blob the manifest names to this repository first, make the digest in the "
    "URL match the body, and use media types the registry accepts; keep manifests under "
    "the registry's size limit (at least 4 MiB is expected)."};
constexpr catalog_entry c09{
    "C-09",
    "BLOB_UPLOAD_SESSION_LOST",
    severity::error,
    "The registry no longer knows the blob upload session",
    "blob upload unknown: blob upload unknown to registry",
    "Give every registry replica the same http.secret (or use sticky sessions), do not "
    "let uploads be purged mid-push; on 416 the client should GET the upload URL to learn "
    "the committed range and resume from there."};
constexpr catalog_entry c10{"C-10",
                            "DIGEST_OR_SIZE_INVALID_ON_UPLOAD",
                            severity::error,
                            "The uploaded blob does not match its declared digest or size",
                            "digest invalid: provided digest did not match uploaded content",
                            "Find where the bytes change (a proxy rewriting bodies, a truncated transfer, a "
                            "Content-Length that disagrees with the body) and push again."};
constexpr catalog_entry c11{
    "C-11",
    "STORAGE_QUOTA_EXCEEDED",
    severity::critical,
    "The registry refused the write: storage quota or repository limit reached",
    "denied: quota exceeded",
    "Free space (delete unused tags, then run garbage collection; layers shared with other "
    "images do not free quota), or raise the quota, plan or SKU."};
constexpr catalog_entry c12{
    "C-12",
    "WRITE_DISALLOWED_LOCK_READONLY",
    severity::error,
    "The registry does not allow this write (lock, read-only mode or disabled operation)",
    "unknown: The operation is disallowed on this registry, repository or image.",
    "Unlock the image or repository (ACR: az acr repository update --write-enabled true), "
    "take the registry out of read-only mode, or enable the operation (deletes)."};

bool is_write(entry_facts const& e) {
  auto const& m = e.x->method;
  return m == "PUT" || m == "POST" || m == "PATCH" || m == "DELETE";
}

// The blobs a rejected manifest names that the trace never shows present in its repository.
std::string blobs_not_shown(facts_span trace, entry_facts const& put) {
  std::string missing;
  for (auto const& d : parse_manifest_text(put.x->request_body.text).blobs) {
    bool present = false, mount_refused = false;
    for (auto const& f : entries_before(trace, put)) {
      if (!same_repository(f, put) || f.cls.digest != d.digest) continue;
      if (f.cls.kind == request_kind::blob && succeeded(f)) present = true;
      if (f.cls.kind == request_kind::upload && f.x->status == 201) present = true;
      if (f.cls.kind == request_kind::upload && f.x->method == "POST" && f.x->status == 202)
        mount_refused = true;
    }
    if (present) continue;
    missing += (missing.empty() ? "" : ", ") + d.digest;
    if (mount_refused) missing += " (a mount attempt got 202: not mounted, and no upload followed)";
  }
  return missing;
}

void manifest_rejected(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (e.cls.kind != request_kind::manifest || e.x->method != "PUT" || e.x->generated_response) continue;
    auto const& code = e.error_code();
    bool const invalid = e.x->status == 400 &&
                         (code == "MANIFEST_INVALID" || code == "MANIFEST_BLOB_UNKNOWN" ||
                          code == "TAG_INVALID" || code == "DIGEST_INVALID" || code == "MANIFEST_UNVERIFIED");
    // An HTML 413 comes from an ingress in front of the registry: A-13.
    bool const too_large = e.x->status == 413 && e.error.kind != error_body::format::html;
    if (!invalid && !too_large) continue;
    std::string explanation = "PUT " + image_ref(e) + " (" + std::to_string(e.x->request_body.bytes) +
                              " bytes) was answered " + std::to_string(e.x->status) + " " +
                              code_and_message(e) + ".";
    if (!e.error.errors.empty() && !e.error.errors.front().detail.empty())
      explanation += " Detail: " + e.error.errors.front().detail.substr(0, 300) + ".";
    if (code == "MANIFEST_BLOB_UNKNOWN") {
      auto const missing = blobs_not_shown(trace, e);
      explanation += missing.empty()
                         ? " The trace shows every blob of the manifest in this repository."
                         : " Blobs the trace never shows in '" + e.cls.repository + "': " + missing + ".";
    }
    if (too_large) explanation += " The manifest is larger than this registry accepts.";
    auto f = make_finding(c08, std::move(explanation), {evidence_of(e)});
    f.cause = image_ref(e);
    f.client_error = client_text(e);
    out.push_back(std::move(f));
  }
}

bool upload_session_lost(entry_facts const& e) {
  if (e.cls.kind != request_kind::upload || e.x->generated_response) return false;
  auto const& m = e.x->method;
  if (m != "PATCH" && m != "PUT" && m != "GET") return false;
  auto const& code = e.error_code();
  return (e.x->status == 404 && (code == "BLOB_UPLOAD_UNKNOWN" || code == "BLOB_UPLOAD_INVALID")) ||
         e.x->status == 416;
}

// The POST that opened the upload session e belongs to (its Location names the session's id).
entry_facts const* session_start(facts_span trace, entry_facts const& e) {
  if (e.cls.upload_id.empty()) return nullptr;
  for (auto const& f : entries_before(trace, e)) {
    auto const* location = f.response_header("Location");
    if (f.cls.kind == request_kind::upload && f.x->method == "POST" && location != nullptr &&
        contains(*location, e.cls.upload_id))
      return &f;
  }
  return nullptr;
}

void upload_lost(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (!upload_session_lost(e)) continue;
    std::string explanation = e.x->method + " on upload session " + e.cls.upload_id + " of '" +
                              e.cls.repository + "' was answered " + std::to_string(e.x->status) + " " +
                              code_and_message(e) + ".";
    std::vector<evidence_item> items{evidence_of(e)};
    if (auto const* start = session_start(trace, e)) {
      explanation += " The session was opened " +
                     std::to_string(static_cast<long long>(seconds_between(*start, e))) +
                     " s earlier (entry " + std::to_string(start->index) + ").";
      if (!start->x->server_ip.empty() && !e.x->server_ip.empty() && start->x->server_ip != e.x->server_ip)
        explanation += " The requests reached different registry addresses (" + start->x->server_ip + ", " +
                       e.x->server_ip +
                       "): replicas that do not share http.secret reject each other's sessions.";
      items.push_back(evidence_of(*start, "session opened here"));
    }
    if (e.x->status == 416) {
      auto const* sent = e.request_header("Content-Range");
      auto const* range = e.response_header("Range");
      explanation += " The chunk started at " + (sent ? *sent : std::string("an unstated offset")) +
                     " while the registry holds " + (range ? *range : std::string("an unstated range")) + ".";
    } else if (e.error_code() == "BLOB_UPLOAD_INVALID") {
      explanation +=
          " The registry could not validate the session state (_state signed with another http.secret, "
          "another repository or another session id).";
    } else {
      explanation += " The session was cancelled, purged or never existed on the replica that answered.";
    }
    auto f = make_finding(c09, std::move(explanation), std::move(items));
    mark_recovered(f, recovered(trace, e));
    f.client_error = client_text(e);
    out.push_back(std::move(f));
  }
}

// What the forwarded bytes say about the declared digest, as a sentence.
std::string compare_forwarded(facts_span trace, entry_facts const& put) {
  auto const& digest = put.cls.digest;
  body_record const* body = &put.x->request_body;
  std::size_t chunks = 0;
  if (body->bytes == 0) {
    // Chunked upload: the data came in PATCHes of this session; one chunk can be checked whole.
    for (auto const& f : entries_before(trace, put))
      if (f.cls.kind == request_kind::upload && f.x->method == "PATCH" &&
          f.cls.upload_id == put.cls.upload_id && f.x->request_body.bytes > 0)
        body = &f.x->request_body, ++chunks;
    if (chunks > 1)
      return "The data came in " + std::to_string(chunks) +
             " PATCH chunks; regtrace hashes each request separately, so the whole blob's hash is not known.";
  }
  if (body->bytes == 0 || body->sha256.empty()) return "regtrace forwarded no blob bytes for this upload.";
  std::string text = "regtrace forwarded " + std::to_string(body->bytes) + " bytes";
  if (!body->complete) text += " (the body was cut short)";
  if (!digest.starts_with("sha256:")) return text + "; the digest is not sha256, so it was not compared.";
  if (digest.substr(7) == body->sha256)
    return text + " that hash to " + digest +
           ": the content left the proxy intact, so it changed after regtrace or the registry stored it "
           "wrongly.";
  return text + " that hash to sha256:" + body->sha256 + ", not to the declared " + digest +
         ": the client sent content that does not match its own digest.";
}

void digest_invalid(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (e.cls.kind != request_kind::upload || e.x->method != "PUT" || e.x->status != 400 ||
        e.cls.digest.empty())
      continue;
    auto const& code = e.error_code();
    if (code != "DIGEST_INVALID" && code != "SIZE_INVALID") continue;
    std::string explanation = "The closing PUT of upload " + e.cls.upload_id + " in '" + e.cls.repository +
                              "' declared " + e.cls.digest + " and was answered 400 " + code_and_message(e) +
                              ". " + compare_forwarded(trace, e);
    if (auto const* length = e.request_header("Content-Length");
        length && *length != std::to_string(e.x->request_body.bytes))
      explanation += " Content-Length said " + *length + " bytes, the body had " +
                     std::to_string(e.x->request_body.bytes) + ".";
    auto f = make_finding(c10, std::move(explanation), {evidence_of(e)});
    f.client_error = client_text(e);
    out.push_back(std::move(f));
  }
}

void quota_exceeded(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (e.x->generated_response || quota_vendor(e).empty()) continue;
    std::string explanation = quota_vendor(e) + " at " + e.x->authority() + " refused " + e.x->method + " " +
                              e.x->target + " with " + std::to_string(e.x->status) + " " +
                              code_and_message(e) +
                              ": the storage quota or repository limit is reached, so no push can complete.";
    auto f = make_finding(c11, std::move(explanation), {evidence_of(e)});
    f.client_error = client_text(e);
    out.push_back(std::move(f));
  }
}

bool write_disallowed(entry_facts const& e) {
  if (!is_registry_request(e) || e.x->generated_response || is_quarantine_read(e)) return false;
  if (!quota_vendor(e).empty()) return false;  // C-11 names the cause more precisely
  auto const& code = e.error_code();
  bool const readonly_body = contains(error_text_lower(e), "\"is_readonly\": true") ||
                             contains(error_text_lower(e), "\"is_readonly\":true");
  if (e.x->status == 405) return is_write(e) || code == "REGISTRY_DISALLOWED_OPERATION";
  return e.x->status == 403 && is_write(e) && readonly_body;  // Quay read-only namespaces
}

std::string disallowed_reason(entry_facts const& e) {
  auto const& code = e.error_code();
  auto const text = error_text_lower(e);
  if (code == "REGISTRY_DISALLOWED_OPERATION")
    return "Azure Container Registry disallows it: an image or repository lock (write or delete disabled), "
           "quarantine, a storage limit or a Classic SKU.";
  if (code == "UNSUPPORTED")
    return "The registry does not support the operation (distribution with deletes disabled).";
  if (contains(text, "is_readonly") || contains(text, "namespace is disabled"))
    return "Quay has the namespace or registry in read-only mode or disabled.";
  std::string reason =
      "A bare 405: the registry does not offer this method here (distribution's read-only "
      "maintenance mode registers no write methods)";
  if (auto const* allow = e.response_header("Allow")) reason += "; Allow: " + *allow;
  return reason + ".";
}

void write_disallowed_rule(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (!write_disallowed(e)) continue;
    std::string explanation = e.x->method + " " + e.x->target + " at " + e.x->authority() + " was answered " +
                              std::to_string(e.x->status) + " " + code_and_message(e) + ". " +
                              disallowed_reason(e);
    auto f = make_finding(c12, std::move(explanation), {evidence_of(e)});
    f.client_error = client_text(e);
    out.push_back(std::move(f));
  }
}

}  // namespace

void api_push_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {manifest_rejected, upload_lost, digest_invalid, quota_exceeded,
                                   write_disallowed_rule};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
