#pragma once
// Internal to the registry-API (C-*) and vendor (E-*) rule files: the questions both groups ask of a
// trace (which client, did a later request recover, is this a quarantine read). Candidates for
// rules_detail.hpp once the other groups need them too.

#include "capture/rules/rules_detail.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::rules::detail {

/// True when needle occurs in hay (case-sensitive).
bool contains(std::string_view hay, std::string_view needle);

/// Docker's rendering of a registry error: "<code, lower case, spaces>: <message>" (catalog §1.4).
std::string docker_error_text(entry_facts const& e);
/// containerd's "unexpected status from GET request to URL: 404 Not Found".
std::string containerd_status_text(entry_facts const& e);
/// The error as the client that sent e prints it (Docker's, containerd's or containers/image's form).
std::string client_text(entry_facts const& e);

/// A registry request (not token, not object storage).
bool is_registry_request(entry_facts const& e);
/// Both requests come from the same client program (same User-Agent, both present).
bool same_user_agent(entry_facts const& a, entry_facts const& b);
/// The entries after e in trace (e must be an element of trace).
facts_span entries_after(facts_span trace, entry_facts const& e);
/// The entries before e in trace (e must be an element of trace).
facts_span entries_before(facts_span trace, entry_facts const& e);
/// The evidence items of these entries, each with note.
std::vector<evidence_item> evidence_list(std::vector<entry_facts const*> const& hits,
                                         std::string_view note = {});
/// A later request for the same repository and reference/digest on another host that succeeded:
/// the client fell back from a mirror (E-07), or nullptr.
entry_facts const* fallback_success(facts_span trace, entry_facts const& e);

/// Every error text of the response (messages, details, body) lower-cased, to match vendor phrases.
std::string error_text_lower(entry_facts const& e);
/// `CODE "message"` (or whichever of the two the answer has), for explanations.
std::string code_and_message(entry_facts const& e);
/// "host/repo": the repository of a request, with the registry that holds it.
std::string repository_ref(entry_facts const& e);
/// "host/repo:tag" or "host/repo@sha256:..." for a manifest or blob request.
std::string image_ref(entry_facts const& e);
/// The reference part of an image_ref: ":tag" or "@sha256:...".
std::string tag_or_digest(entry_facts const& e);

/// `sha256-<64 hex>` tags (OCI referrers tag schema, cosign .sig/.att): lookups that miss by design.
bool is_digest_tag(std::string_view reference);
/// True when the client of e pushes to e's repository in this trace (uploads, manifest PUTs, a push scope):
/// 404 answers to existence checks are then normal (catalog §2).
bool is_push_session(facts_span trace, entry_facts const& e);
/// ACR quarantine read (E-05): a manifest read by digest answered 405 REGISTRY_DISALLOWED_OPERATION.
bool is_quarantine_read(entry_facts const& e);
/// E-05 explains failures in e's repository: some manifest read there is a quarantine read.
bool repository_quarantined(facts_span trace, entry_facts const& e);
/// The response's text names a storage quota or repository-count limit (C-11); "" when not, else
/// the vendor it is phrased like ("Harbor", "Quay", ...).
std::string quota_vendor(entry_facts const& e);

/// One descriptor of a manifest or index, as far as the rules need it.
struct descriptor {
  std::string digest;
  std::string media_type;
  std::string platform;           ///< "linux/arm/v7" for index entries, else ""
  std::vector<std::string> urls;  ///< foreign layers name where to download them
};

/// What a manifest or index body lists (Docker schema 1/2, OCI).
struct manifest_doc {
  bool is_index = false;
  bool is_schema1 = false;
  std::vector<descriptor> children;  ///< index entries
  std::vector<descriptor> blobs;     ///< config and layers
};
/// Reads a manifest body; empty lists when it is not JSON (or was truncated).
manifest_doc parse_manifest_text(std::string_view text);

void api_content_rules(facts_span trace, std::vector<finding>& out);  // C-04..C-07, rules_api_content.cpp
void api_push_rules(facts_span trace, std::vector<finding>& out);     // C-08..C-12, rules_api_push.cpp
void api_server_rules(facts_span trace, std::vector<finding>& out);   // C-13..C-15, rules_api_server.cpp
/// E-03, E-04 and E-06, rules_vendor_cloud.cpp; run within vendor_rules.
void vendor_cloud_rules(facts_span trace, std::vector<finding>& out);

}  // namespace regtrace::capture::rules::detail
