// Catalog §3 group C rules: what the registry says about names and references (C-01..C-03). The
// manifest-content rules are in rules_api_content.cpp, the push and server-side ones in
// rules_api_push.cpp.
#include "capture/rules/rules_api_common.hpp"
#include "capture/rules/rules_detail.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace regtrace::capture::rules::detail {
namespace {

constexpr catalog_entry c01{
    "C-01",
    "MANIFEST_NOT_FOUND",
    severity::error,
    "The registry has no manifest for the requested tag or digest",
    "manifest for IMAGE not found: manifest unknown: manifest unknown",
    "Check the tag and repository path (typo, tag deleted or expired, image pushed under "
    "another name); list the tags with GET /v2/NAME/tags/list."};
constexpr catalog_entry c02{
    "C-02",
    "REPOSITORY_UNKNOWN_OR_HIDDEN",
    severity::error,
    "The repository does not exist, or this identity may not see it",
    "pull access denied for IMAGE, repository does not exist or may require 'docker login'",
    "Check the repository path (namespace, project, 'library/' prefix); if it exists, grant the identity "
    "pull access to it or log in as a user that has it."};
constexpr catalog_entry c03{
    "C-03",
    "NAME_INVALID_UPPERCASE_OR_SYNTAX",
    severity::error,
    "The repository name breaks the registry name grammar",
    "invalid reference format",
    "Use a lowercase repository name made of [a-z0-9] runs joined by '.', '_', '__' or '-', with '/' "
    "between components; keep the registry host lowercase as well."};

// What a 404 on this manifest read says, or false when another rule owns it (see c01_candidate).
bool says_manifest_unknown(entry_facts const& e) {
  auto const& code = e.error_code();
  return code == "MANIFEST_UNKNOWN" || code == "TAG_EXPIRED";
}

entry_facts const* later_get_same_url(facts_span trace, entry_facts const& e) {
  for (auto const& f : entries_after(trace, e))
    if (f.x->method == "GET" && same_url(f, e) && f.x->status != 401) return &f;
  return nullptr;
}

// A push into the repository follows (blob uploads, a manifest PUT): the 404 was its existence check.
bool push_follows(facts_span trace, entry_facts const& e) {
  return std::ranges::any_of(entries_after(trace, e), [&](entry_facts const& f) {
    return same_repository(f, e) && (f.cls.kind == request_kind::upload ||
                                     (f.cls.kind == request_kind::manifest && f.x->method == "PUT"));
  });
}

// A manifest read answered 404 that no more specific explanation covers.
bool c01_candidate(facts_span trace, entry_facts const& e) {
  if (e.cls.kind != request_kind::manifest || !is_read(e) || e.x->status != 404) return false;
  if (e.x->generated_response) return false;  // regtrace's own answer: an A-* upstream failure
  if (!says_manifest_unknown(e)) {
    // Other codes belong elsewhere (NAME_UNKNOWN is C-02), and a non-registry body is A-12's.
    if (!e.error_code().empty() || e.error.kind != error_body::format::none) return false;
    // HEAD has no body: a following GET of the same URL tells what the 404 meant (catalog §0).
    if (later_get_same_url(trace, e) != nullptr) return false;
    // Push existence checks answer 404 before the PUT (catalog §2).
    if (is_push_session(trace, e)) return false;
  }
  if (is_digest_tag(e.cls.reference)) return false;  // referrers-tag / signature lookups: E-08
  if (push_follows(trace, e)) return false;
  if (recovered(trace, e)) return false;                          // the tag appeared; nothing failed
  if (fallback_success(trace, e) != nullptr) return false;        // a mirror missed, upstream served: E-07
  // E-05 is the specific reading of by-tag 404s in a quarantined repository: emit that instead.
  return !repository_quarantined(trace, e);
}

// One finding per image and client: each client's failed pull is its own event, with its own text.
std::string image_and_client(entry_facts const& e) {
  return image_ref(e) + '\n' + user_agent_of(e);
}

void manifest_not_found(facts_span trace, std::vector<finding>& out) {
  std::map<std::string, std::vector<entry_facts const*>> by_image;
  for (auto const& e : trace)
    if (c01_candidate(trace, e)) by_image[image_and_client(e)].push_back(&e);
  for (auto const& [key, hits] : by_image) {
    entry_facts const& first = *hits.front();
    auto const image = image_ref(first);
    std::vector<evidence_item> items;
    // The HEADs that the GET explained are evidence too.
    for (auto const& e : trace)
      if (e.cls.kind == request_kind::manifest && e.x->status == 404 && is_read(e) &&
          image_and_client(e) == key)
        items.push_back(evidence_of(e));
    std::string explanation = "The registry at " + first.x->authority() + " answered 404 to " +
                              std::to_string(items.size()) + " request(s) for manifest '" +
                              first.cls.reference + "' of repository '" + first.cls.repository + "'";
    entry_facts const* coded = nullptr;
    for (auto const& e : trace)
      if (image_and_client(e) == key && says_manifest_unknown(e)) coded = coded ? coded : &e;
    if (coded != nullptr) {
      explanation += " with " + code_and_message(*coded) + ".";
      if (coded->error_code() == "TAG_EXPIRED") explanation += " Quay expired the tag (tag expiration).";
    } else {
      explanation += " (HEAD, no body) and the client asked nothing more for it.";
    }
    explanation += " The tag or digest does not exist in that repository.";
    auto f = make_finding(c01, std::move(explanation), std::move(items));
    f.cause = key;
    f.seen_on = entries_of(f.evidence);
    auto const tag = first.cls.digest.empty() ? first.cls.reference : first.cls.digest;
    auto const repo = repository_ref(first);
    f.client_error = pick_client_text(
        client_of(first), "manifest for " + image + " not found: manifest unknown", image + ": not found",
        "reading manifest " + tag + " in " + repo + ": manifest unknown");
    out.push_back(std::move(f));
  }
}

// Phrases other rules own: B-12 firewall, B-10 expired login, B-14 cloud IAM.
bool denial_owned_by_auth_rules(entry_facts const& e) {
  auto const text = error_text_lower(e);
  for (std::string_view phrase : {"not allowed access", "token has expired", "not authorized to perform",
                                  "permission \"", "permission '"})
    if (contains(text, phrase)) return true;
  return false;
}

// The last successful token answer before e that was bought with credentials (catalog §4.3-4.4).
entry_facts const* credentialed_token_before(facts_span trace, entry_facts const& e) {
  entry_facts const* found = nullptr;
  for (auto const& f : entries_before(trace, e)) {
    if (f.cls.kind != request_kind::token || f.x->status != 200) continue;
    if (!f.cls.repository.empty() && f.cls.repository != e.cls.repository) continue;
    auto const& form = f.x->request_body.text;
    if (f.has_authorization() || contains(form, "grant_type=password") ||
        contains(form, "grant_type=refresh_token"))
      found = &f;
  }
  return found;
}

// C-02 as a 404 NAME_UNKNOWN that no mirror fallback or later success explains.
bool name_unknown(facts_span trace, entry_facts const& e) {
  if (e.x->status != 404 || e.error_code() != "NAME_UNKNOWN") return false;
  // A mirror that lacks the repository while the upstream serves it is E-07.
  return fallback_success(trace, e) == nullptr && !recovered(trace, e);
}

// C-02 as a read refused DENIED after a token was bought with credentials: that token request, else
// nullptr.
entry_facts const* denied_despite_login(facts_span trace, entry_facts const& e) {
  if ((e.x->status != 401 && e.x->status != 403) || e.error_code() != "DENIED" || !is_read(e)) return nullptr;
  // Without a credentialed token the denial is the auth rules' (B-03 anonymous, B-09 scope).
  if (recovered(trace, e) || denial_owned_by_auth_rules(e)) return nullptr;
  if (!quota_vendor(e).empty() || !e.has_authorization()) return nullptr;
  return credentialed_token_before(trace, e);
}

// The C-02 entries of one repository and client.
struct repository_hits {
  std::vector<evidence_item> items;
  entry_facts const* first = nullptr;
  entry_facts const* token = nullptr;  ///< the credentialed token request, when the answer was DENIED
};

// What the client printed for a missing repository, or for one denied although the login works.
std::string unknown_repository_text(entry_facts const& e, bool logged_in) {
  auto const repo = repository_ref(e);
  auto const message = error_message(e);
  if (!logged_in)
    return pick_client_text(
        client_of(e), "repository " + repo + " not found: name unknown: " + message,
        repo + tag_or_digest(e) + ": not found",
        "reading manifest " + e.cls.reference + " in " + repo + ": name unknown: " + message);
  return pick_client_text(
      client_of(e),
      "pull access denied for " + repo +
          ", repository does not exist or may require 'docker login': denied: " + message,
      "pull access denied, repository does not exist or may require authorization: server "
      "message: denied: " +
          message,
      "requested access to the resource is denied");
}

finding repository_unknown_finding(std::string const& key, repository_hits& h) {
  entry_facts const& e = *h.first;
  auto const seen_on = entries_of(h.items);
  std::string explanation = "The registry at " + e.x->authority() + " answered " +
                            std::to_string(e.x->status) + " " + code_and_message(e) + " for repository '" +
                            e.cls.repository + "'. ";
  if (h.token != nullptr) {
    explanation += "The token request with credentials had succeeded (entry " +
                   std::to_string(h.token->index) +
                   "), so the login works: the repository does not exist, or this identity may not read it "
                   "(registries answer both alike so as not to reveal private repositories).";
    h.items.push_back(evidence_of(*h.token, "token obtained with credentials"));
  } else {
    explanation += "The registry does not know this repository.";
  }
  auto f = make_finding(c02, std::move(explanation), std::move(h.items));
  f.cause = key;
  f.seen_on = seen_on;
  f.client_error = unknown_repository_text(e, h.token != nullptr);
  return f;
}

// C-02: one finding per repository and client.
void repository_unknown(facts_span trace, std::vector<finding>& out) {
  std::map<std::string, repository_hits> by_repo;
  for (auto const& e : trace) {
    // A 404 on /referrers/ says the API is absent, whatever its code (E-08).
    if (e.cls.repository.empty() || e.cls.kind == request_kind::token ||
        e.cls.kind == request_kind::referrers || e.x->generated_response)
      continue;
    entry_facts const* token = nullptr;
    if (!name_unknown(trace, e) && (token = denied_despite_login(trace, e)) == nullptr) continue;
    auto& h = by_repo[repository_ref(e) + '\n' + user_agent_of(e)];
    if (h.first == nullptr) h.first = &e;
    if (h.token == nullptr) h.token = token;
    h.items.push_back(evidence_of(e));
  }
  for (auto& [key, h] : by_repo) out.push_back(repository_unknown_finding(key, h));
}

// Which part of the catalog §0 grammar the name breaks, for the explanation.
std::string name_problem(std::string_view name) {
  if (to_lower(name) != name) return "it contains uppercase letters";
  bool const odd_char = std::ranges::any_of(name, [](char c) {
    return !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
             c == '/');
  });
  if (odd_char) return "it contains a character outside [a-z0-9._-/]";
  return "a separator starts or ends a component, or separators are doubled";
}

void name_invalid(facts_span trace, std::vector<finding>& out) {
  for (auto const& e : trace) {
    if (e.cls.repository.empty() || e.cls.kind == request_kind::token || e.x->generated_response) continue;
    bool const grammar_broken = !is_valid_repository_name(e.cls.repository);
    bool const said_invalid = e.x->status == 400 && e.error_code() == "NAME_INVALID";
    if (!said_invalid && !(grammar_broken && (e.x->status == 400 || e.x->status == 404))) continue;
    std::string explanation = "The client asked " + e.x->authority() + " for repository '" +
                              e.cls.repository + "' and got " + std::to_string(e.x->status) + " " +
                              code_and_message(e) + ". ";
    if (grammar_broken) {
      auto const lower = to_lower(e.cls.repository);
      explanation += "The name breaks the repository grammar: " + name_problem(e.cls.repository) + ".";
      if (is_valid_repository_name(lower)) explanation += " '" + lower + "' would be valid.";
    } else {
      explanation +=
          "The name fits the OCI grammar, so this registry has stricter rules (length, reserved words).";
    }
    auto f = make_finding(c03, std::move(explanation), {evidence_of(e)});
    f.cause = repository_ref(e);
    f.client_error = pick_client_text(
        client_of(e),
        "invalid reference format: repository name (" + e.cls.repository + ") must be lowercase",
        "unexpected status from " + e.x->method + " request to " + e.x->url() + ": " +
            std::to_string(e.x->status),
        "invalid reference format: repository name must be lowercase");
    out.push_back(std::move(f));
  }
}

}  // namespace

void api_rules(facts_span trace, std::vector<finding>& out) {
  static constexpr rule rules[] = {manifest_not_found, repository_unknown, name_invalid,
                                   api_content_rules,  api_push_rules,     api_server_rules};
  run_rules(rules, trace, out);
}

}  // namespace regtrace::capture::rules::detail
