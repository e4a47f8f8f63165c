#pragma once
// ASCII helpers for protocol text (header names, schemes, query keys): locale-free on purpose.

#include <string_view>

namespace regtrace::capture {

/// ASCII case-insensitive equality of a and b.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto const lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace regtrace::capture
