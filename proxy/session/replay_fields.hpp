#pragma once
// What a replay may write back of a recorded message (SPEC §8, issue 13). A trace is hostile input: a
// header value holding CR LF would split the message it is written into, and Beast throws on a field
// over 64 KiB. Pure text checks, no Beast here, so they are unit-tested without sockets; used by the
// server replay (replay_responder) and by `regtrace replay send`.

#include "capture/model/exchange.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::proxy {

/// Longest field name or value written back: Beast's own limit (it throws past 65533 bytes).
inline constexpr std::size_t max_replayed_field_bytes = 65533;

/// RFC 9110 §5.1: a field name is a token, one or more tchar.
bool is_field_name(std::string_view name);
/// RFC 9110 §5.5 (and the reason phrase of RFC 9112 §4): VCHAR, obs-text, SP and HTAB only; never CR,
/// LF, NUL or another control character.
bool is_field_value(std::string_view value);

/// The recorded header fields that can be written back, in order, and a sentence for each one left out.
struct writable_fields {
  capture::header_list kept;
  std::vector<std::string> notes;  ///< "left out header X-Note: its value holds CR, LF, NUL or …", printable
};
writable_fields writable_fields_of(capture::header_list const& recorded);

/// A Content-Length value as RFC 9110 §8.6 writes it (digits only, within 64 bits), or nullopt.
std::optional<std::uint64_t> parse_content_length(std::string_view value);

/// True when a recorded request line can be sent again as it is: an origin-form target (RFC 9112
/// §3.2.1) and a host name or IP literal, neither holding a space or a control character. Otherwise
/// *why says what is wrong, quoting it printably.
bool is_resendable_request(capture::exchange const& recorded, std::string* why);

}  // namespace regtrace::proxy
