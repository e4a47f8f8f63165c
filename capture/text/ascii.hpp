#pragma once
// ASCII helpers for protocol text (header names, schemes, hosts, query keys, error codes):
// locale-free on purpose, the one implementation of case-folding and trimming in regtrace.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace regtrace::capture {

/// c lower-cased when it is an ASCII capital, else c.
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// text with its ASCII capitals lower-cased (host names, schemes, media types).
inline std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

/// ASCII case-insensitive equality of a and b.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

/// Position of needle in haystack from pos, ignoring ASCII case; npos when absent.
inline std::size_t ifind(std::string_view haystack, std::string_view needle, std::size_t pos = 0) {
  if (pos > haystack.size()) return std::string_view::npos;
  auto const found = std::ranges::search(haystack.substr(pos), needle, {}, ascii_lower, ascii_lower);
  return found.empty() && !needle.empty() ? std::string_view::npos
                                          : static_cast<std::size_t>(found.begin() - haystack.begin());
}

/// True when haystack holds needle, ignoring ASCII case.
inline bool icontains(std::string_view haystack, std::string_view needle) {
  return ifind(haystack, needle) != std::string_view::npos;
}

/// True when text starts with prefix, ignoring ASCII case.
constexpr bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

/// Optional white space in HTTP fields: space and tab (RFC 9110 §5.6.3).
constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

/// ASCII white space, as in bodies and documents.
constexpr bool is_whitespace(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/// text without leading and trailing OWS (a header value, a list element).
constexpr std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back())) text.remove_suffix(1);
  return text;
}

/// text without leading and trailing ASCII white space (a body, a line of a document).
constexpr std::string_view trim_whitespace(std::string_view text) noexcept {
  while (!text.empty() && is_whitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_whitespace(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace regtrace::capture
