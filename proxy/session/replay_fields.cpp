#include "proxy/session/replay_fields.hpp"

#include "capture/text/display.hpp"

namespace regtrace::proxy {
namespace {

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" /
// "|" / "~" / DIGIT / ALPHA.
bool is_tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A bounded, terminal-safe quote of a hostile value for a note.
std::string quoted(std::string_view text) {
  constexpr std::size_t shown = 40;
  auto const cut = text.size() > shown;
  return "\"" + capture::printable(text.substr(0, shown)) + (cut ? "…" : "") + "\"";
}

// Why a recorded field cannot be written back, or "" when it can.
std::string refusal(capture::header_field const& field) {
  if (field.name.size() > max_replayed_field_bytes || field.value.size() > max_replayed_field_bytes)
    return "left out header " + quoted(field.name) + ": longer than " +
           std::to_string(max_replayed_field_bytes) + " bytes";
  if (!is_field_name(field.name))
    return "left out header " + quoted(field.name) + ": its name is not an HTTP token (RFC 9110 §5.1)";
  if (!is_field_value(field.value))
    return "left out header " + field.name +
           ": its value holds CR, LF, NUL or another control character (RFC 9110 §5.5)";
  return {};
}

// RFC 3986 §3.2.2 as registries use it: a DNS name, an IPv4 address or a bracketed IPv6 literal.
bool is_host(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          std::string_view("-._~:[]%").find(c) != std::string_view::npos))
      return false;
  return true;
}

}  // namespace

bool is_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!is_tchar(c)) return false;
  return true;
}

bool is_field_value(std::string_view value) {
  for (char c : value) {
    auto const u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

writable_fields writable_fields_of(capture::header_list const& recorded) {
  writable_fields out;
  for (auto const& field : recorded) {
    if (auto why = refusal(field); !why.empty())
      out.notes.push_back(std::move(why));
    else
      out.kept.push_back(field);
  }
  return out;
}

std::optional<std::uint64_t> parse_content_length(std::string_view value) {
  // 19 digits always fit in 64 bits; a longer length is no length a peer could send.
  if (value.empty() || value.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

bool is_resendable_request(capture::exchange const& recorded, std::string* why) {
  auto const& target = recorded.target;
  bool const target_ok = target.starts_with('/') && target.size() <= max_replayed_field_bytes &&
                         is_field_value(target) && target.find_first_of(" \t") == std::string::npos;
  if (!target_ok) {
    if (why) *why = "its request target " + quoted(target) + " is not one line of an origin-form target";
    return false;
  }
  if (!is_host(recorded.host)) {
    if (why) *why = "its host " + quoted(recorded.host) + " is not a host name or an IP address";
    return false;
  }
  return true;
}

}  // namespace regtrace::proxy
