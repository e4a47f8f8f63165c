// Catalog §3 group E rules: platform and vendor specifics (E-01 RHEL docker signature verification,
// E-05 ACR quarantine, E-07 mirror fallback, E-08 referrers API absent, E-09 registry warnings; the
// cloud endpoints of E-03, E-04 and E-06 are in rules_vendor_cloud.cpp).
#include "capture/text/ascii.hpp"
#include "capture/rules/rules_api_common.hpp"
#include "capture/rules/rules_detail.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry e01{
    "E-01",
    "RHEL_DOCKER_SIGNATURE_VERIFICATION",
    severity::error,
    "Red Hat's docker 1.13 verifies signatures and the pull ends unauthorized",
    "Trying to pull repository <registry>/<image> ... unauthorized: authentication required",
    "Add --signature-verification=false to OPTIONS in /etc/sysconfig/docker and restart "
    "docker (or provide the signatures the daemon looks for)."};
constexpr catalog_entry e05{
    "E-05",
    "ACR_QUARANTINE",
    severity::error,
    "Azure Container Registry quarantine hides the image until it is marked as scanned",
    "unknown: The operation is disallowed.",
    "Let the scanner mark the image as passed (quarantine state); scanners read "
    "quarantined images with the AcrQuarantineReader role."};
constexpr catalog_entry e07{
    "E-07",
    "MIRROR_FALLBACK",
    severity::info,
    "A mirror could not serve the content and the client fell back to another host",
    "(no error: the pull continued from the next host)",
    "Nothing to do unless the mirror should have had the content: then check the mirror's "
    "upstream configuration and cache."};
constexpr catalog_entry e08{
    "E-08",
    "REFERRERS_API_ABSENT",
    severity::info,
    "The registry has no referrers API; the client used the sha256-<hex> tag fallback",
    "(no error: clients fall back to the referrers tag schema)",
    "Nothing to do; a registry implementing OCI distribution 1.1 serves "
    "/v2/NAME/referrers/DIGEST and avoids races between writers of the fallback tag."};
constexpr catalog_entry e09{"E-09",
                            "REGISTRY_WARNING_HEADER",
                            severity::info,
                            "The registry sent a warning",
                            "podman/skopeo print the warning text; Docker does not show it",
                            "Read the warning: registries use it for deprecations and upcoming limits."};

// The projectatomic docker 1.13 shipped by RHEL/CentOS/Fedora: version and kernel name the distribution.
bool is_rhel_docker(entry_facts const& e) {
  auto const* ua = e.request_header("User-Agent");
  if (ua == nullptr) return false;
  auto const agent = to_lower(*ua);
  if (!contains(agent, "docker/1.13")) return false;
  for (std::string_view marker : {"rhel", "redhat", "red hat", "fedora", "centos", "projectatomic", ".el7",
                                  ".el8", ".fc2", ".fc3", "-rh"})
    if (contains(agent, marker)) return true;
  return false;
}

bool is_signature_lookup(entry_facts const& e) {
  return contains(e.x->target, "/extensions/v2/") && contains(e.x->target, "/signatures/");
}

void rhel_signature_verification(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (!is_rhel_docker(e)) continue;
    bool const pull_401 = e.x->status == 401 && e.x->method != "PUT" &&
                          (e.cls.kind == request_kind::manifest || e.cls.kind == request_kind::blob) &&
                          !recovered(trace, e);
    bool const signature_failed = is_signature_lookup(e) && (e.x->status == 0 || e.x->status >= 400);
    if (!pull_401 && !signature_failed) continue;
    std::string explanation =
        "The client is Red Hat's docker 1.13 build (User-Agent \"" + *e.request_header("User-Agent") +
        "\"), and its pull from " + e.x->authority() + " ended with " + std::to_string(e.x->status) + " on " +
        e.x->method + " " + e.x->target +
        ". That daemon verifies image signatures by default and reports the failed lookup "
        "as 'unauthorized'.";
    bool const pushed = std::ranges::any_of(trace, [&](entry_facts const& f) {
      return is_rhel_docker(f) && f.cls.kind == request_kind::manifest && f.x->method == "PUT" &&
             succeeded(f);
    });
    if (pushed) explanation += " Pushes by the same client succeeded, which fits this cause.";
    auto f =
        make_finding(e01, std::move(explanation),
                     {evidence_of(e, signature_failed ? "signature lookup" : "pull request unauthorized")});
    f.client_error = "Trying to pull repository " + e.x->authority() + "/" + e.cls.repository +
                     " ... unauthorized: authentication required";
    out.push_back(std::move(f));
  }
}

void acr_quarantine(facts_span trace, std::vector<finding>& out) {
  std::map<std::string, std::vector<entry_facts const*>> by_repo;
  for (auto const& e : trace) {
    bool const hidden_tag = e.cls.kind == request_kind::manifest && e.cls.digest.empty() &&
                            e.x->status == 404 && e.error_code() == "MANIFEST_UNKNOWN";
    if (is_quarantine_read(e) || (hidden_tag && repository_quarantined(trace, e)))
      by_repo[repository_ref(e)].push_back(&e);
  }
  for (auto const& [repo, hits] : by_repo) {
    auto const read = std::ranges::find_if(hits, [](auto const* h) { return is_quarantine_read(*h); });
    entry_facts const& e = **read;
    std::string explanation = "In " + repo + " the manifest read by digest " + e.cls.digest +
                              " was answered 405 " + code_and_message(e);
    auto const tags = hits.size() - static_cast<std::size_t>(std::ranges::count_if(
                                        hits, [](auto const* h) { return is_quarantine_read(*h); }));
    if (tags > 0)
      explanation += ", and " + std::to_string(tags) + " read(s) by tag answered 404 MANIFEST_UNKNOWN";
    explanation +=
        ". This is how a quarantine-enabled Azure Container Registry hides an image that the scanner has "
        "not marked as passed (the generic readings, C-01 and C-12, are not reported for these entries).";
    std::vector<evidence_item> items{evidence_of(e, "read by digest disallowed")};
    for (auto const* h : hits)
      if (h != &e)
        items.push_back(evidence_of(*h, is_quarantine_read(*h) ? "read by digest disallowed" : "tag hidden"));
    auto f = make_finding(e05, std::move(explanation), std::move(items));
    f.cause = repo;
    f.seen_on = entries_of(f.evidence);
    out.push_back(std::move(f));
  }
}

void mirror_fallback(facts_span trace, std::vector<finding>& out) {
  struct hop {
    std::vector<evidence_item> items;
    entry_facts const* failed = nullptr;
    entry_facts const* served = nullptr;
  };
  std::map<std::pair<std::string, std::string>, hop> hops;
  for (auto const& e : trace) {
    if (e.cls.kind != request_kind::manifest && e.cls.kind != request_kind::blob) continue;
    if (e.x->status == 401 || (e.x->status != 0 && e.x->status < 400)) continue;  // 401: the token flow's
    auto const* served = fallback_success(trace, e);
    if (served == nullptr) continue;
    auto& h = hops[{e.x->authority(), served->x->authority()}];
    if (h.failed == nullptr) h.failed = &e, h.served = served;
    h.items.push_back(evidence_of(e));
  }
  for (auto& [hosts, h] : hops) {
    auto const answer = h.failed->x->status == 0
                            ? std::string("no response")
                            : std::to_string(h.failed->x->status) + " " + code_and_message(*h.failed);
    std::string explanation = hosts.first + " answered " + answer + " for " + h.failed->cls.repository +
                              tag_or_digest(*h.failed) + "; the client then got it from " + hosts.second +
                              ".";
    if (contains(h.failed->x->target, "ns="))
      explanation += " The ?ns= query marks a containerd hosts.toml mirror.";
    auto const seen_on = entries_of(h.items);  // the misses, not the host that served
    h.items.push_back(evidence_of(*h.served, "served by the next host"));
    auto f = make_finding(e07, std::move(explanation), std::move(h.items));
    f.cause = hosts.first + " -> " + hosts.second;
    f.seen_on = seen_on;
    out.push_back(std::move(f));
  }
}

void referrers_absent(facts_span trace, std::vector<finding>& out) {
  std::map<std::string, std::vector<evidence_item>> by_repo;
  for (auto const& e : trace) {
    bool const api_missing = e.cls.kind == request_kind::referrers && e.x->status == 404;
    bool const tag_lookup = e.cls.kind == request_kind::manifest && is_digest_tag(e.cls.reference);
    // A manifest with a subject whose PUT answer lacks OCI-Subject tells the client to keep the tag up to
    // date.
    bool const subject_ignored = e.cls.kind == request_kind::manifest && e.x->method == "PUT" &&
                                 succeeded(e) && contains(e.x->request_body.text, "\"subject\"") &&
                                 e.response_header("OCI-Subject") == nullptr;
    if (!api_missing && !tag_lookup && !subject_ignored) continue;
    by_repo[repository_ref(e)].push_back(evidence_of(e, api_missing  ? "referrers API absent"
                                                        : tag_lookup ? "referrers tag"
                                                                     : "no OCI-Subject"));
  }
  for (auto& [repo, items] : by_repo) {
    std::string explanation =
        repo +
        ": the registry does not offer the OCI referrers API (404 on /referrers/, or "
        "no OCI-Subject on a manifest with a subject), so the client reads or writes the "
        "sha256-<hex> tag instead. Expected on registries before OCI distribution 1.1; 404s "
        "on those tags are normal.";
    auto f = make_finding(e08, std::move(explanation), std::move(items));
    f.cause = repo;
    f.seen_on = entries_of(f.evidence);
    out.push_back(std::move(f));
  }
}

// The texts of the 299 warnings in one Warning value: `299 - "text"[ "date"], ...` (RFC 7234 §5.5).
std::vector<std::string> warning_texts(std::string_view value) {
  std::vector<std::string> texts;
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t' || value[i] == ',')) ++i;
  };
  auto read_quoted = [&] {
    std::string text;
    for (++i; i < value.size() && value[i] != '"'; ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      text += value[i];
    }
    ++i;
    return text;
  };
  while (skip_spaces(), i < value.size()) {
    auto const code = value.substr(i, 3);
    while (i < value.size() && value[i] != ' ') ++i;  // code
    skip_spaces();
    while (i < value.size() && value[i] != ' ' && value[i] != '"') ++i;  // agent
    skip_spaces();
    if (i >= value.size() || value[i] != '"') break;
    auto text = read_quoted();
    if (code == "299" && !text.empty()) texts.push_back(std::move(text));
    while (i < value.size() && value[i] == ' ') ++i;
    if (i < value.size() && value[i] == '"') read_quoted();  // warn-date
  }
  return texts;
}

void registry_warnings(facts_span trace, std::vector<finding>& out) {
  std::vector<std::pair<std::string, std::vector<evidence_item>>> by_text;  // in order of first appearance
  for (auto const& e : trace) {
    std::vector<std::string> seen;
    for (auto const& h : e.x->response_headers) {
      if (!iequals(h.name, "Warning")) continue;
      for (auto& text : warning_texts(h.value)) {
        if (std::ranges::find(seen, text) != seen.end()) continue;
        seen.push_back(text);
        auto it = std::ranges::find_if(by_text, [&](auto const& p) { return p.first == text; });
        if (it == by_text.end()) it = by_text.insert(by_text.end(), {text, {}});
        it->second.push_back(evidence_of(e, "Warning: " + text));
      }
    }
  }
  for (auto& [text, items] : by_text) {
    auto f = make_finding(e09,
                          "The registry sent Warning: 299 - \"" + text + "\" on " +
                              std::to_string(items.size()) + " response(s).",
                          std::move(items));
    f.client_error = "Warning from registry: " + text + " (podman/skopeo; Docker does not show it)";
    f.cause = text;
    f.seen_on = entries_of(f.evidence);
    out.push_back(std::move(f));
  }
}

}  // namespace

void vendor_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {
      rhel_signature_verification, acr_quarantine,    mirror_fallback, referrers_absent,
      registry_warnings,           vendor_cloud_rules};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
