#pragma once
// Internals shared by the redaction sources (redaction.cpp, redaction_text.cpp, redaction_json.cpp);
// not part of the capture API.

#include "capture/text/ascii.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace regtrace::capture::detail {

/// Whether key equals one of names, ignoring ASCII case.
template <std::size_t N>
bool one_of(std::string_view key, std::string_view const (&names)[N]) {
  return std::ranges::any_of(names, [&](std::string_view name) { return iequals(key, name); });
}

/// Whether value is a redaction marker, plain or percent-encoded (markers are never redacted again).
bool is_marker(std::string_view value);

/// The [begin, end) span of the password in "scheme://user:password@host" when the "://" is at pos.
std::optional<std::pair<std::size_t, std::size_t>> userinfo_password(std::string_view text, std::size_t pos);

/// Redacts the token-like string members (catalog §5) of a JSON body, parsed or scanned if truncated.
std::string redact_json(std::string_view text);

}  // namespace regtrace::capture::detail
