#pragma once
// UTF-8 well-formedness (RFC 3629 §4): the one check and repair, for text from foreign files that
// must reach a JSON parser or a report (nlohmann refuses ill-formed UTF-8 in a string).

#include <cstddef>
#include <string>
#include <string_view>

namespace regtrace::capture {

/// Offset of the first byte that does not start a well-formed UTF-8 sequence, or npos.
std::size_t first_invalid_utf8(std::string_view text);

/// text with each byte that does not start a well-formed sequence replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view text);

}  // namespace regtrace::capture
