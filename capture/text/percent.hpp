#pragma once
// Percent-coding (RFC 3986 §2.1): the one decoder and encoder for URLs, queries and forms.

#include <optional>
#include <string>
#include <string_view>

namespace regtrace::capture {

/// The value of a hexadecimal digit, or -1 when c is not one.
int hex_digit_value(char c) noexcept;

/// Decodes %XX escapes (and '+' as a space when plus_is_space, for form bodies); malformed escapes are
/// kept as they are, as browsers and registries do.
std::string percent_decode(std::string_view text, bool plus_is_space = false);

/// Decodes %XX escapes; nullopt when a '%' is not followed by two hex digits (for input the user
/// typed, where a guess would hide a mistake).
std::optional<std::string> percent_decode_strict(std::string_view text);

/// Encodes every byte but the unreserved characters (RFC 3986 §2.3) as %XX: a query value.
std::string percent_encode(std::string_view text);

}  // namespace regtrace::capture
