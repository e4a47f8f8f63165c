// What the registry-API (C-*) and vendor (E-*) rules ask of a trace, written once.
#include "capture/rules/rules_api_common.hpp"

#include "capture/text/ascii.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace regtrace::capture::rules::detail {
namespace {

// A token request asking for push on repository (GET query or POST form, catalog §4.3-4.4).
bool asks_push_scope(entry_facts const& token, std::string_view repository) {
  auto check = [&](std::string_view params) {
    for (auto const& p : split_query(params)) {
      if (p.key != "scope") continue;
      for (auto const& s : parse_scopes(percent_decode(p.value, true))) {
        if (s.type != "repository" || s.name != repository) continue;
        for (auto const& a : s.actions)
          if (a == "push" || a == "*") return true;
      }
    }
    return false;
  };
  return check(query_of(token.x->target)) || check(token.x->request_body.text);
}

using json = nlohmann::json;

std::string string_at(json const& j, char const* key) {
  auto const it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

descriptor read_descriptor(json const& j) {
  descriptor d{string_at(j, "digest"), string_at(j, "mediaType"), {}, {}};
  if (auto const p = j.find("platform"); p != j.end() && p->is_object()) {
    d.platform = string_at(*p, "os") + "/" + string_at(*p, "architecture");
    if (auto const variant = string_at(*p, "variant"); !variant.empty()) d.platform += "/" + variant;
  }
  if (auto const u = j.find("urls"); u != j.end() && u->is_array())
    for (auto const& url : *u)
      if (url.is_string()) d.urls.push_back(url.get<std::string>());
  return d;
}

void read_descriptors(json const& body, char const* key, std::vector<descriptor>& into) {
  auto const list = body.find(key);
  if (list == body.end() || !list->is_array()) return;
  for (auto const& item : *list)
    if (item.is_object()) into.push_back(read_descriptor(item));
}

bool is_hex(std::string_view s) {
  return std::ranges::all_of(s, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

manifest_doc parse_manifest_text(std::string_view text) {
  manifest_doc doc;
  json const body = json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return doc;
  if (auto const v = body.find("schemaVersion"); v != body.end() && *v == 1) doc.is_schema1 = true;
  read_descriptors(body, "manifests", doc.children);
  doc.is_index = body.contains("manifests");
  if (auto const c = body.find("config"); c != body.end() && c->is_object())
    doc.blobs.push_back(read_descriptor(*c));
  read_descriptors(body, "layers", doc.blobs);
  if (auto const l = body.find("fsLayers"); l != body.end() && l->is_array())  // schema 1
    for (auto const& layer : *l)
      if (layer.is_object()) doc.blobs.push_back({string_at(layer, "blobSum"), {}, {}, {}});
  return doc;
}

std::string docker_error_text(entry_facts const& e) {
  std::string code = to_lower(e.error_code().empty() ? "unknown" : e.error_code());
  std::ranges::replace(code, '_', ' ');
  return code + ": " + error_message(e);
}

std::string containerd_status_text(entry_facts const& e) {
  return "unexpected status from " + e.x->method + " request to " + e.x->url() + ": " +
         std::to_string(e.x->status) + (e.x->reason.empty() ? "" : " " + e.x->reason);
}

std::string client_text(entry_facts const& e) {
  return pick_client_text(client_of(e), docker_error_text(e), containerd_status_text(e), error_message(e));
}

bool is_registry_request(entry_facts const& e) {
  switch (e.cls.kind) {
    case request_kind::token:
    case request_kind::storage:
      return false;
    case request_kind::other:
      return e.is_registry_api();
    default:
      return true;
  }
}

bool same_user_agent(entry_facts const& a, entry_facts const& b) {
  auto const* ua = a.request_header("User-Agent");
  auto const* other = b.request_header("User-Agent");
  return ua != nullptr && other != nullptr && *ua == *other;
}

facts_span entries_after(facts_span trace, entry_facts const& e) {
  return trace.subspan(static_cast<std::size_t>(&e - trace.data()) + 1);
}

facts_span entries_before(facts_span trace, entry_facts const& e) {
  return trace.first(static_cast<std::size_t>(&e - trace.data()));
}

std::vector<evidence_item> evidence_list(std::vector<entry_facts const*> const& hits, std::string_view note) {
  std::vector<evidence_item> items;
  for (auto const* e : hits) items.push_back(evidence_of(*e, note));
  return items;
}

entry_facts const* fallback_success(facts_span trace, entry_facts const& e) {
  if (e.cls.repository.empty()) return nullptr;
  for (auto const& f : entries_after(trace, e)) {
    if (iequals(f.x->host, e.x->host) || f.cls.kind != e.cls.kind || f.cls.repository != e.cls.repository)
      continue;
    bool const same_object = e.cls.kind == request_kind::manifest ? f.cls.reference == e.cls.reference
                                                                  : f.cls.digest == e.cls.digest;
    if (same_object && succeeded(f)) return &f;
  }
  return nullptr;
}

std::string error_text_lower(entry_facts const& e) {
  std::string text;
  for (auto const& err : e.error.errors) text += err.code + ' ' + err.message + ' ' + err.detail + ' ';
  text += e.error.vendor_code + ' ' + e.error.message + ' ';
  // Vendors put extra members beside errors[] (Quay "is_readonly"); a short look at the body finds them.
  text += std::string_view(e.x->response_body.text).substr(0, 4096);
  return to_lower(text);
}

std::string code_and_message(entry_facts const& e) {
  auto const& code = e.error_code();
  auto const message = error_message(e);
  if (code.empty() && message.empty()) return "no error body";
  if (message.empty()) return code;
  std::string quoted = "\"" + message.substr(0, 300) + "\"";
  return code.empty() ? quoted : code + " " + quoted;
}

std::string tag_or_digest(entry_facts const& e) {
  if (e.cls.kind == request_kind::manifest && e.cls.digest.empty()) return ":" + e.cls.reference;
  return "@" + e.cls.digest;
}

std::string repository_ref(entry_facts const& e) {
  return e.x->authority() + "/" + e.cls.repository;
}

std::string image_ref(entry_facts const& e) {
  return repository_ref(e) + tag_or_digest(e);
}

bool is_digest_tag(std::string_view reference) {
  if (!reference.starts_with("sha256-") || reference.size() < 7 + 64) return false;
  return is_hex(reference.substr(7, 64)) && (reference.size() == 71 || reference[71] == '.');
}

bool is_push_session(facts_span trace, entry_facts const& e) {
  // The same program (User-Agent, or none on both): another client pushing the repository earlier
  // does not make this client's 404 an existence check.
  auto const* ua = e.request_header("User-Agent");
  auto same_agent = [&](entry_facts const& f) {
    auto const* other = f.request_header("User-Agent");
    return ua == nullptr ? other == nullptr : other != nullptr && *other == *ua;
  };
  bool manifest_seen = false;
  for (auto const& f : trace) {
    if (!same_agent(f)) continue;
    if (f.cls.kind == request_kind::token && asks_push_scope(f, e.cls.repository)) return true;
    if (!same_repository(f, e)) continue;
    if (f.cls.kind == request_kind::upload) return true;
    if (f.cls.kind == request_kind::manifest && (f.x->method == "PUT" || f.x->method == "DELETE"))
      return true;
    // Pulls read a manifest before any blob; pushes check their blobs first (catalog §2).
    if (f.cls.kind == request_kind::manifest) manifest_seen = true;
    if (f.cls.kind == request_kind::blob && !manifest_seen) return true;
  }
  return false;
}

bool is_quarantine_read(entry_facts const& e) {
  if (e.cls.kind != request_kind::manifest || e.cls.digest.empty() || e.x->status != 405) return false;
  return is_read(e) && e.error_code() == "REGISTRY_DISALLOWED_OPERATION";
}

bool repository_quarantined(facts_span trace, entry_facts const& e) {
  return std::ranges::any_of(
      trace, [&](entry_facts const& f) { return same_repository(f, e) && is_quarantine_read(f); });
}

std::string quota_vendor(entry_facts const& e) {
  if (e.x->status < 400 || e.x->status == 429) return {};
  auto const text = error_text_lower(e);
  if (contains(text, "exceed the configured upper limit")) return "Harbor";
  if (contains(text, "quota has been exceed")) return "Quay";
  if (contains(text, "limit is") && contains(text, "repositor")) return "DigitalOcean";
  auto const host = to_lower(e.x->host);
  bool const acr = host.ends_with(".azurecr.io") || e.error_code() == "REGISTRY_DISALLOWED_OPERATION";
  if (acr && e.x->status == 405 &&
      (contains(text, "storage") || contains(text, "quota") || contains(text, "size limit")))
    return "Azure Container Registry";
  if (contains(text, "quota exceeded") || contains(text, "exceeded quota") || contains(text, "storage quota"))
    return acr ? "Azure Container Registry" : "the registry";
  return {};
}

}  // namespace regtrace::capture::rules::detail
