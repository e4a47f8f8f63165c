#pragma once
// Base64 (RFC 4648): the one encoder and decoder, for Basic credentials, JWT segments and HAR bodies.

#include <optional>
#include <string>
#include <string_view>

namespace regtrace::capture {

/// Decodes the standard or the URL-safe alphabet (RFC 4648 §4, §5), padding optional and white space
/// ignored, as clients and HAR writers differ. nullopt on any other character or an impossible length.
std::optional<std::string> base64_decode(std::string_view text);

/// The standard alphabet with padding: Authorization: Basic values (RFC 7617 §2).
std::string base64_encode(std::string_view bytes);

/// The URL-safe alphabet without padding: JWT segments (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);

}  // namespace regtrace::capture
