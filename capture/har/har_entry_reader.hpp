#pragma once
// Internal to the HAR reader: one HAR entry back to an exchange (the inverse of to_har_entry).

#include "capture/model/exchange.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::detail {

/// Maps one entry; index is 1-based for warnings. nullopt (with a warning) when it has no request.
/// Never throws: fields of the wrong type count as missing.
std::optional<exchange> exchange_from_har_entry(nlohmann::json const& entry, std::size_t index,
                                                std::vector<std::string>& warnings);


}  // namespace regtrace::capture::detail
