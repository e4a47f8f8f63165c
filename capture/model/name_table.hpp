#pragma once
// Enums that traces and events carry by name ("upstream_tls", "connect_failed"): one table per enum,
// read both ways, so a name and its value cannot drift apart between the writer and the reader.

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace regtrace::capture {

/// An enum's values with the names written for them.
template <class Enum, std::size_t N>
using name_table = std::array<std::pair<Enum, std::string_view>, N>;

/// The name of value in table; fallback when the table does not list it.
template <class Enum, std::size_t N>
constexpr std::string_view name_of(name_table<Enum, N> const& table, Enum value, std::string_view fallback) {
  for (auto const& [listed, name] : table)
    if (listed == value) return name;
  return fallback;
}

/// The value written as name in table; nullopt for a name the table does not hold.
template <class Enum, std::size_t N>
constexpr std::optional<Enum> value_of(name_table<Enum, N> const& table, std::string_view name) {
  for (auto const& [value, listed] : table)
    if (listed == name) return value;
  return std::nullopt;
}

}  // namespace regtrace::capture
