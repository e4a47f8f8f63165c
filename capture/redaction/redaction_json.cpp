#include "capture/redaction/redaction.hpp"

#include "capture/redaction/redaction_detail.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

namespace regtrace::capture {
namespace {

using detail::is_marker;
using detail::one_of;

// clang-format off
// Catalog §5, token response and docker config rows.
constexpr std::string_view secret_json_keys[] = {
    "token", "access_token", "refresh_token", "id_token", "password", "identitytoken", "registrytoken",
    "auth"};
// clang-format on

// Where the closing quote of a JSON string starting at pos is (npos if the preview ends first).
std::size_t json_string_end(std::string_view text, std::size_t pos) {
  for (; pos < text.size(); ++pos) {
    if (text[pos] == '\\')
      ++pos;
    else if (text[pos] == '"')
      return pos;
  }
  return std::string_view::npos;
}

// A JSON preview cut at the body limit does not parse: redact `"token": "..."` pairs by scanning.
// A value the cut left open is redacted to the end, so no prefix of a token survives.
std::string redact_json_scan(std::string_view text) {
  std::string out;
  std::size_t copied = 0;
  std::size_t pos = 0;
  while ((pos = text.find('"', pos)) != std::string_view::npos) {
    auto const key_end = json_string_end(text, pos + 1);
    if (key_end == std::string_view::npos) break;
    auto const key = text.substr(pos + 1, key_end - pos - 1);
    auto p = text.find_first_not_of(" \t\r\n", key_end + 1);
    if (p == std::string_view::npos || text[p] != ':') {
      pos = key_end + 1;
      continue;
    }
    p = text.find_first_not_of(" \t\r\n", p + 1);
    if (p == std::string_view::npos || text[p] != '"') {
      pos = p == std::string_view::npos ? text.size() : p;
      continue;
    }
    auto const value_end = std::min(json_string_end(text, p + 1), text.size());
    auto const value = text.substr(p + 1, value_end - p - 1);
    if (one_of(key, secret_json_keys) && !value.empty() && !is_marker(value)) {
      out.append(text.substr(copied, p + 1 - copied));
      out += redaction_marker(value);
      copied = value_end;
    }
    pos = value_end + 1;
  }
  if (copied < text.size()) out.append(text.substr(copied));
  return out;
}

// Deeper documents are left to the scanner: nlohmann's dump() recurses, a hostile body must not
// exhaust the stack.
constexpr int max_json_depth = 64;

bool redact_json_value(nlohmann::ordered_json& value, int depth, bool& changed) {
  if (depth > max_json_depth) return false;
  if (value.is_object()) {
    for (auto& [key, member] : value.items()) {
      if (member.is_string() && one_of(key, secret_json_keys)) {
        auto const& secret = member.get_ref<std::string const&>();
        if (secret.empty() || is_marker(secret)) continue;
        member = redaction_marker(secret);
        changed = true;
      } else if (!redact_json_value(member, depth + 1, changed)) {
        return false;
      }
    }
  } else if (value.is_array()) {
    for (auto& element : value)
      if (!redact_json_value(element, depth + 1, changed)) return false;
  } else if (value.is_string()) {
    auto redacted = redact_text(value.get_ref<std::string const&>());
    if (redacted != value.get_ref<std::string const&>()) {
      value = std::move(redacted);
      changed = true;
    }
  }
  return true;
}

}  // namespace

std::string detail::redact_json(std::string_view text) {
  auto document = nlohmann::ordered_json::parse(text, nullptr, false);
  if (document.is_discarded()) return redact_json_scan(text);
  bool changed = false;
  if (!redact_json_value(document, 0, changed)) return redact_json_scan(text);
  // Unchanged documents keep their bytes: the body hash and any diff against the wire stay meaningful.
  if (!changed) return std::string(text);
  return document.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace regtrace::capture
