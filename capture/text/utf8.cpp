#include "capture/text/utf8.hpp"

namespace regtrace::capture {
namespace {

bool in(unsigned char c, unsigned char low, unsigned char high) {
  return c >= low && c <= high;
}

/// Length of the well-formed sequence at text[i] (the table of RFC 3629 §4), 0 when there is none.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  auto const at = [&](std::size_t k) {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
  };
  auto const lead = at(0);
  if (lead < 0x80) return 1;
  auto const tail = [&](std::size_t k) { return in(at(k), 0x80, 0xBF); };
  if (in(lead, 0xC2, 0xDF)) return tail(1) ? 2 : 0;
  if (lead == 0xE0) return in(at(1), 0xA0, 0xBF) && tail(2) ? 3 : 0;
  if (lead == 0xED) return in(at(1), 0x80, 0x9F) && tail(2) ? 3 : 0;  // no UTF-16 surrogates
  if (in(lead, 0xE1, 0xEF)) return tail(1) && tail(2) ? 3 : 0;
  if (lead == 0xF0) return in(at(1), 0x90, 0xBF) && tail(2) && tail(3) ? 4 : 0;
  if (lead == 0xF4) return in(at(1), 0x80, 0x8F) && tail(2) && tail(3) ? 4 : 0;  // up to U+10FFFF
  if (in(lead, 0xF1, 0xF3)) return tail(1) && tail(2) && tail(3) ? 4 : 0;
  return 0;
}

}  // namespace

std::size_t first_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    auto const n = sequence_length(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto const n = sequence_length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace regtrace::capture
