// Catalog §3 group C rules that read manifest bodies: C-04 platform missing from an index, C-05
// schema 1, C-06 a referenced blob unknown, C-07 a foreign layer unreachable. Manifest text is kept up
// to the body limit (64 KiB), enough for any real manifest or index.
#include "capture/text/ascii.hpp"
#include "capture/rules/rules_api_common.hpp"
#include "capture/rules/rules_detail.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <vector>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry c04{"C-04",
                            "PLATFORM_NOT_IN_INDEX",
                            severity::error,
                            "The image index has no manifest for the client's platform",
                            "no matching manifest for <os>/<arch> in the manifest list entries",
                            "Pull with --platform set to one of the platforms the index lists, or publish "
                            "the missing platform in the index."};
constexpr catalog_entry c05{
    "C-05",
    "UNSUPPORTED_SCHEMA1_MANIFEST",
    severity::error,
    "The registry served a Docker schema 1 manifest and the client gave up",
    "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has "
    "been removed",
    "Rebuild and push the image again so it is stored as Docker schema 2 or OCI."};
constexpr catalog_entry c06{"C-06",
                            "BLOB_UNKNOWN_ON_PULL",
                            severity::error,
                            "A blob the manifest references is missing from the repository",
                            "unknown blob",
                            "Push the image again so its blobs land in this repository; check garbage "
                            "collection settings and, for geo-replicated registries, wait for replication."};
constexpr catalog_entry c07{"C-07",
                            "FOREIGN_LAYER_UNREACHABLE",
                            severity::error,
                            "A foreign (non-distributable) layer could not be downloaded",
                            "download failed for a foreign layer",
                            "Mirror the layer into the private registry (push it as a normal blob), or open "
                            "egress to the host named in the layer's urls."};

std::string media_type_of(entry_facts const& e) {
  auto const* type = e.response_header("Content-Type");
  if (type == nullptr) return {};
  return to_lower(trim_ows(std::string_view(*type).substr(0, type->find(';'))));
}

// A 200 manifest answer, read as far as the rules need; nothing for other entries.
manifest_doc read_manifest(entry_facts const& e) {
  if (e.cls.kind != request_kind::manifest || e.x->status != 200 || e.x->method == "PUT") return {};
  auto doc = parse_manifest_text(e.x->response_body.text);
  auto const type = media_type_of(e);
  doc.is_schema1 = doc.is_schema1 || type.starts_with("application/vnd.docker.distribution.manifest.v1+");
  doc.is_index = doc.is_index || type == "application/vnd.oci.image.index.v1+json" ||
                 type == "application/vnd.docker.distribution.manifest.list.v2+json";
  return doc;
}

// Every 200 manifest answer of the trace, parsed once per diagnosis (the live window re-runs the
// rules on each new exchange).
class manifest_bodies {
 public:
  explicit manifest_bodies(facts_span trace) : trace_(trace) {
    docs_.reserve(trace.size());
    for (auto const& e : trace) docs_.push_back(read_manifest(e));
  }
  manifest_doc const& of(entry_facts const& e) const {
    return docs_[static_cast<std::size_t>(&e - trace_.data())];
  }

 private:
  facts_span trace_;
  std::vector<manifest_doc> docs_;
};

// "os/arch[/variant]" from Docker's User-Agent ("... os/linux arch/arm64 ..."), or "".
std::string client_platform(entry_facts const& e) {
  auto const* ua = e.request_header("User-Agent");
  if (ua == nullptr) return {};
  auto field = [&](std::string_view key) -> std::string {
    auto const at = ua->find(key);
    if (at == std::string::npos) return {};
    auto const start = at + key.size();
    return ua->substr(start, ua->find_first_of(" )", start) - start);
  };
  auto const os = field(" os/");
  auto const arch = field(" arch/");
  return os.empty() || arch.empty() ? std::string{} : os + "/" + arch;
}

bool is_curl(entry_facts const& e) {
  return client_of(e) == client_family::curl;
}

bool lists_platform(manifest_doc const& doc, std::string const& wanted) {
  return std::ranges::any_of(doc.children, [&](descriptor const& d) {
    return d.platform == wanted ||
           d.platform.starts_with(wanted + "/");  // linux/arm64 matches linux/arm64/v8
  });
}

// What the same client did after e. Live, a healthy client's next request is not recorded yet when
// its index or manifest is, so "the client stopped here" needs its later requests: `continued` when
// one carries on with this image, `moved_on` when it did something else instead.
struct afterwards {
  bool continued = false;
  bool moved_on = false;
};

template <typename Continues>
afterwards what_client_did_next(facts_span trace, entry_facts const& e, Continues continues) {
  afterwards next;
  for (auto const& f : entries_after(trace, e)) {
    if (!same_user_agent(f, e)) continue;
    if (continues(f)) return {true, false};
    next.moved_on = true;
  }
  if (e.trace_complete) next.moved_on = true;  // the trace ended: the client did stop here
  return next;
}

// "linux/amd64, linux/arm64/v8": the platforms an index names (attestation entries left out).
std::string listed_platforms(manifest_doc const& doc) {
  std::string platforms;
  for (auto const& child : doc.children)
    if (!child.platform.empty() && child.platform != "unknown/unknown")
      platforms += (platforms.empty() ? "" : ", ") + child.platform;
  return platforms;
}

// C-04's explanation: the index, what it lists, and the platform the client runs on (own_listed: it
// is listed, so --platform asked for another one).
std::string index_explanation(entry_facts const& e, manifest_doc const& doc, std::string const& platforms,
                              std::string const& wanted, bool own_listed) {
  std::string explanation = "GET " + image_ref(e) + " returned an image index (" + media_type_of(e) +
                            ") with " + std::to_string(doc.children.size()) + " manifest(s)";
  explanation += platforms.empty() ? "" : " for " + platforms;
  explanation += ", and the client fetched none of them afterwards.";
  if (own_listed)
    return explanation + " The client runs on " + wanted +
           ", which the index lists: the pull asked for another platform (--platform) that the index does "
           "not list.";
  if (!wanted.empty()) explanation += " The client runs on " + wanted + ", which the index does not list.";
  return explanation;
}

void platform_not_in_index(facts_span trace, manifest_bodies const& bodies, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (e.x->method != "GET" || is_curl(e)) continue;
    auto const& doc = bodies.of(e);
    if (!doc.is_index || doc.children.empty()) continue;
    // Carrying on: a child manifest, a blob of the repository, or the same reference again (a retry,
    // judged on its own).
    auto const next = what_client_did_next(trace, e, [&](entry_facts const& f) {
      bool const child =
          f.cls.kind == request_kind::manifest && std::ranges::any_of(doc.children, [&](auto const& d) {
            return !d.digest.empty() && f.cls.digest == d.digest;
          });
      bool const same_image = same_repository(f, e) &&
                              (f.cls.kind == request_kind::blob ||
                               (f.cls.kind == request_kind::manifest && f.cls.reference == e.cls.reference));
      return child || same_image;
    });
    if (next.continued) continue;
    // Docker names its platform in the User-Agent: an index without it decides at once. Otherwise (other
    // clients, or Docker asked with --platform for another platform than its own) only a stop followed by
    // other work shows that the index was the end (no false alarm mid-pull).
    auto const wanted = client_platform(e);
    bool const own_listed = !wanted.empty() && lists_platform(doc, wanted);
    if ((wanted.empty() || own_listed) && !next.moved_on) continue;
    auto const platforms = listed_platforms(doc);
    auto f = make_finding(c04, index_explanation(e, doc, platforms, wanted, own_listed),
                          {evidence_of(e, platforms.empty() ? "" : "platforms: " + platforms)});
    f.cause = image_ref(e);
    auto const shown = wanted.empty() || own_listed ? std::string("<os>/<arch>") : wanted;
    f.client_error =
        pick_client_text(client_of(e), "no matching manifest for " + shown + " in the manifest list entries",
                         image_ref(e) + ": no match for platform in manifest: not found",
                         "choosing an image from manifest list " + image_ref(e) +
                             ": no image found in manifest list for architecture " + shown);
    out.push_back(std::move(f));
  }
}

// Clients known to refuse schema 1: containerd 2.x, Docker 28.2 and later (catalog C-05).
bool refuses_schema1(entry_facts const& e) {
  auto const* ua = e.request_header("User-Agent");
  if (ua == nullptr) return false;
  auto version_after = [&](std::string_view key) -> std::pair<int, int> {
    auto const at = ua->find(key);
    if (at == std::string::npos) return {0, 0};
    int major = 0, minor = 0;
    auto const* p = ua->data() + at + key.size();
    auto const* end = ua->data() + ua->size();
    auto r = std::from_chars(p, end, major);
    if (r.ptr != end && *r.ptr == '.') std::from_chars(r.ptr + 1, end, minor);
    return {major, minor};
  };
  if (ua->starts_with("containerd/")) return version_after("containerd/").first >= 2;
  auto const docker = version_after("docker/");
  return docker >= std::pair{28, 2};
}

void schema1_refused(facts_span trace, manifest_bodies const& bodies, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (is_curl(e) || !bodies.of(e).is_schema1) continue;
    // A client that still reads schema 1 goes on to the blobs (dockerd 20.10 does, with a warning).
    auto const next = what_client_did_next(trace, e, [&](entry_facts const& f) {
      return same_repository(f, e) &&
             (f.cls.kind == request_kind::blob ||
              (f.cls.kind == request_kind::manifest && f.cls.reference == e.cls.reference));
    });
    if (next.continued || !(refuses_schema1(e) || next.moved_on)) continue;
    auto f = make_finding(
        c05,
        e.x->method + " " + image_ref(e) + " answered with a Docker schema 1 manifest (" + media_type_of(e) +
            ") and the client made no further request for the image: recent clients (Docker "
            "28.2+, containerd 2.0+) refuse schema 1.",
        {evidence_of(e, media_type_of(e))});
    f.cause = image_ref(e);
    f.client_error = pick_client_text(
        client_of(e), std::string(c05.client_error),
        "media type \"application/vnd.docker.distribution.manifest.v1+prettyjws\" is no longer supported "
        "since "
        "containerd v2.0",
        "unsupported manifest media type application/vnd.docker.distribution.manifest.v1+prettyjws");
    out.push_back(std::move(f));
  }
}

bool is_foreign(descriptor const& d) {
  return !d.urls.empty() && (d.media_type.find("foreign") != std::string::npos ||
                             d.media_type.find("nondistributable") != std::string::npos);
}

bool failed(entry_facts const& e) {
  return e.x->status == 0 || e.x->status >= 400;
}

// The manifest read before e (same repository) that lists e's digest, with that descriptor.
std::pair<entry_facts const*, descriptor> referencing_manifest(facts_span trace,
                                                               manifest_bodies const& bodies,
                                                               entry_facts const& e) {
  auto const before = entries_before(trace, e);
  for (auto it = before.rbegin(); it != before.rend(); ++it) {
    if (!same_repository(*it, e)) continue;
    for (auto const& d : bodies.of(*it).blobs)
      if (d.digest == e.cls.digest) return {&*it, d};
  }
  return {nullptr, {}};
}

void blob_unknown(facts_span trace, manifest_bodies const& bodies, std::vector<finding>& out) {
  std::map<std::string, std::vector<evidence_item>> by_repo;
  std::map<std::string, std::string> digests;
  std::map<std::string, entry_facts const*> manifests;
  std::map<std::string, entry_facts const*> firsts;
  for (auto const& e : trace) {
    if (e.cls.kind != request_kind::blob || e.x->status != 404 || e.x->generated_response) continue;
    bool const coded = e.error_code() == "BLOB_UNKNOWN";
    if (!coded && !(e.x->method == "HEAD" && e.error.kind == error_body::format::none)) continue;
    auto const [manifest, layer] = referencing_manifest(trace, bodies, e);
    // Unreferenced digests are push existence checks; foreign layers are C-07's.
    if (manifest == nullptr || is_foreign(layer) || recovered(trace, e)) continue;
    bool const uploads_follow = std::ranges::any_of(entries_after(trace, e), [&](entry_facts const& f) {
      return same_repository(f, e) && f.cls.kind == request_kind::upload;
    });
    if (uploads_follow) continue;
    auto const key = repository_ref(e);
    auto& items = by_repo[key];
    if (items.empty()) {
      digests[key] = e.cls.digest + " (referenced by " + image_ref(*manifest) + ")";
      manifests[key] = manifest;
      firsts[key] = &e;
    }
    items.push_back(evidence_of(e, "referenced by the manifest of entry " + std::to_string(manifest->index)));
  }
  for (auto& [repo, items] : by_repo) {
    auto explanation =
        "The registry answered 404 (BLOB_UNKNOWN) for blob " + digests[repo] + " in " + repo +
        ", and no later request for it succeeded. The manifest names content the repository does "
        "not hold: garbage collection removed a blob still in use, a geo-replica has not caught "
        "up, or the blob was never linked into this repository.";
    auto const seen_on = entries_of(items);  // the 404s, not the manifest that references them
    items.push_back(evidence_of(*manifests[repo], "the manifest that references it"));
    auto f = make_finding(c06, std::move(explanation), std::move(items));
    f.cause = repo;
    f.seen_on = seen_on;
    f.client_error = client_text(*firsts[repo]);
    out.push_back(std::move(f));
  }
}

bool url_matches(entry_facts const& e, std::string_view url) {
  if (e.x->url() == url) return true;
  auto const scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  auto const rest = url.substr(scheme_end + 3);
  auto const slash = rest.find('/');
  auto const host = rest.substr(0, slash);
  auto const path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  return e.x->target == path && (iequals(host, e.x->host) || iequals(host, e.x->authority()));
}

void foreign_layer_unreachable(facts_span trace, manifest_bodies const& bodies, std::vector<finding>& out) {
  for (auto const& m : trace) {
    for (auto const& layer : bodies.of(m).blobs) {
      if (!is_foreign(layer)) continue;
      std::vector<evidence_item> items;
      bool blob_failed = false, url_tried = false, url_ok = false;
      for (auto const& f : entries_after(trace, m)) {
        if (f.cls.kind == request_kind::blob && f.cls.digest == layer.digest && same_repository(f, m)) {
          if (succeeded(f)) url_ok = true;  // the registry had it after all
          if (failed(f)) blob_failed = true, items.push_back(evidence_of(f, "registry blob request"));
        }
        if (!std::ranges::any_of(layer.urls, [&](auto const& u) { return url_matches(f, u); })) continue;
        url_tried = true;
        if (succeeded(f)) url_ok = true;
        if (failed(f)) items.push_back(evidence_of(f, "foreign URL from the manifest"));
      }
      // Windows Docker tries the urls after the registry's 404; live, that request may still be to
      // come, so a registry failure alone only counts for other clients (Linux asks the registry only).
      bool const tries_urls = contains(to_lower(user_agent_of(m)), "os/windows");
      if (url_ok || items.empty() || (!url_tried && (!blob_failed || tries_urls))) continue;
      items.push_back(evidence_of(m, "lists foreign layer " + layer.digest));
      std::string explanation = "The manifest " + image_ref(m) + " lists layer " + layer.digest + " (" +
                                layer.media_type + ") with urls " + layer.urls.front() +
                                (layer.urls.size() > 1 ? " and others" : "") + ". ";
      explanation += url_tried
                         ? "The request(s) to the foreign URL failed, so the layer could not be fetched."
                         : "The registry does not hold it and the client never reached the foreign URL.";
      auto f = make_finding(c07, std::move(explanation), std::move(items));
      f.cause = layer.digest;
      f.client_error = "failed to download layer " + layer.digest + ": " + f.evidence.front().detail;
      out.push_back(std::move(f));
    }
  }
}

}  // namespace

void api_content_rules(facts_span trace, std::vector<finding>& out) {
  manifest_bodies const bodies(trace);
  platform_not_in_index(trace, bodies, out);
  schema1_refused(trace, bodies, out);
  blob_unknown(trace, bodies, out);
  foreign_layer_unreachable(trace, bodies, out);
}

}  // namespace regtrace::capture::rules::detail
