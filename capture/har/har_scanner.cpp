// The scanner keeps one small state per byte: whether it is in a string (and an escape), which
// containers are open (a bounded stack outside the entries, a counter inside one), and what the JSON
// grammar allows next. Inside an entry it only matches brackets and copies bytes: nlohmann checks the
// entry's grammar when it parses it, after the depth and size limits here have let it through.

#include "capture/har/har_scanner.hpp"

#include <array>
#include <cstdio>

namespace regtrace::capture::detail {
namespace {

constexpr std::string_view bom = "\xEF\xBB\xBF";  // nlohmann skips a UTF-8 BOM; Windows tools write one

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// "'o'" for a printable character, "byte 0x7F" otherwise.
std::string describe(char c) {
  auto const byte = static_cast<unsigned char>(c);
  if (byte > 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  std::array<char, 16> text{};
  std::snprintf(text.data(), text.size(), "byte 0x%02X", byte);
  return text.data();
}

// The number grammar of RFC 8259 §6 as states: 1 after '-', 2 after a leading 0, 3 in the integer,
// 4 after '.', 5 in the fraction, 6 after 'e', 7 after the exponent's sign, 8 in the exponent.
constexpr bool number_may_end(std::uint8_t state) {
  return state == 2 || state == 3 || state == 5 || state == 8;
}

/// The state after c, or 0 when c cannot continue the number.
std::uint8_t number_next(std::uint8_t state, char c) {
  bool const digit = is_digit(c);
  switch (state) {
    case 1:
      return c == '0' ? 2 : digit ? 3 : 0;
    case 2:
      return c == '.' ? 4 : (c == 'e' || c == 'E') ? 6 : 0;
    case 3:
      return digit ? 3 : c == '.' ? 4 : (c == 'e' || c == 'E') ? 6 : 0;
    case 4:
      return digit ? 5 : 0;
    case 5:
      return digit ? 5 : (c == 'e' || c == 'E') ? 6 : 0;
    case 6:
      return (c == '+' || c == '-') ? 7 : digit ? 8 : 0;
    case 7:
    case 8:
      return digit ? 8 : 0;
    default:
      return 0;
  }
}

}  // namespace

bool har_scanner::feed(std::string_view bytes) {
  if (error()) return false;
  auto const base = offset_;
  std::size_t i = 0;
  while (i < bytes.size()) {
    offset_ = base + i;
    if (capture_ != capture::none) {
      i = scan_capture(bytes, i);
      continue;
    }
    char const c = bytes[i];
    if (!step(c)) return false;
    if (c == '\n') note_newline(offset_);
    ++i;
  }
  offset_ = base + bytes.size();
  return true;
}

void har_scanner::finish() {
  if (error()) return;
  if (capture_ == capture::none && token_ == token::number && number_may_end(number_)) {
    token_ = token::none;
    value_done();
  }
  complete_ = capture_ == capture::none && token_ == token::none && expect_ == expect::end;
}

// Copies bytes of the entry (or log.creator) being captured up to its closing bracket; returns the
// index after the last byte it took.
std::size_t har_scanner::scan_capture(std::string_view bytes, std::size_t i) {
  auto const base = offset_ - i;
  auto const start = i;
  bool ended = false;
  for (; i < bytes.size() && !ended; ++i) {
    char const c = bytes[i];
    if (c == '\n') note_newline(base + i);
    if (cap_in_string_) {
      if (cap_escape_) {
        cap_escape_ = false;
      } else if (c == '\\') {
        cap_escape_ = true;
      } else if (c == '"') {
        cap_in_string_ = false;
      }
    } else if (c == '"') {
      cap_in_string_ = true;
    } else if (c == '{' || c == '[') {
      if (++cap_depth_ > limits_.max_depth && cap_.trouble == scanned_entry::problem::none) {
        cap_.trouble = scanned_entry::problem::too_deep;
        cap_.trouble_at = base + i;
      }
    } else if (c == '}' || c == ']') {
      ended = --cap_depth_ == 0;
    }
  }
  // What an entry may take is bounded: past a limit its bytes are dropped and only counted.
  auto const limit = capture_ == capture::creator ? limits_.max_creator_bytes : limits_.max_entry_bytes;
  if (cap_.trouble == scanned_entry::problem::none && cap_.bytes.size() + (i - start) > limit)
    cap_.trouble = scanned_entry::problem::too_big;
  if (cap_.trouble == scanned_entry::problem::none) {
    cap_.bytes.append(bytes.substr(start, i - start));
  } else if (cap_.bytes.capacity() > 0) {
    std::string().swap(cap_.bytes);
  }
  offset_ = base + i;
  if (ended) end_capture();
  return i;
}

bool har_scanner::step(char c) {
  if (offset_ < bom.size() && offset_ == bom_matched_ && c == bom[bom_matched_]) {
    ++bom_matched_;
    return true;
  }
  if (bom_matched_ > 0 && bom_matched_ < bom.size())
    return fail("unexpected " + describe(c) + " after a partial byte order mark");
  if (token_ == token::string) return step_string(c);
  if (token_ != token::none) {
    bool consumed = false;
    if (!step_scalar(c, consumed)) return false;
    if (consumed) return true;
  }
  return step_structure(c);
}

bool har_scanner::step_string(char c) {
  if (escape_ == 1) {
    if (c == 'u') {
      escape_ = 2;
    } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
               c == 't') {
      escape_ = 0;
    } else {
      return fail("invalid escape \\" + std::string(1, c) + " in a string");
    }
  } else if (escape_ >= 2) {
    if (!is_hex(c)) return fail("invalid \\u escape in a string: " + describe(c) + " is no hex digit");
    escape_ = escape_ == 5 ? 0 : escape_ + 1;
  } else if (c == '\\') {
    escape_ = 1;
  } else if (c == '"') {
    token_ = token::none;
    if (!key_string_) {
      value_done();
      return true;
    }
    if (stack_.size() == 1) root_key_ = key_;
    if (stack_.size() == 2) log_key_ = key_;
    expect_ = expect::colon;
    return true;
  } else if (static_cast<unsigned char>(c) < 0x20) {
    return fail("control character " + describe(c) + " in a string; it must be escaped");
  }
  // Member names are compared with "log", "entries" and "creator": their first bytes are enough.
  if (key_string_ && key_.size() < 16) key_ += c;
  return true;
}

bool har_scanner::step_scalar(char c, bool& consumed) {
  if (token_ == token::literal) {
    if (c != literal_[literal_at_])
      return fail("invalid literal: " + describe(c) + " where \"" + std::string(literal_) +
                  "\" was expected");
    consumed = true;
    if (++literal_at_ == literal_.size()) {
      token_ = token::none;
      value_done();
    }
    return true;
  }
  if (auto const next = number_next(number_, c); next != 0) {
    number_ = next;
    consumed = true;
    return true;
  }
  if (!number_may_end(number_))
    return fail("invalid number: " + describe(c) + " cannot follow what came before");
  token_ = token::none;
  value_done();
  return true;  // c is not part of the number: the grammar reads it next
}

bool har_scanner::step_structure(char c) {
  if (is_space(c)) return true;
  char const close = !stack_.empty() && stack_.back() == '{' ? '}' : ']';
  switch (expect_) {
    case expect::value:
      return begin_value(c);
    case expect::value_or_close:
      if (c != ']') return begin_value(c);
      close_container();
      return true;
    case expect::key_or_close:
    case expect::key:
      if (c == '}' && expect_ == expect::key_or_close) {
        close_container();
        return true;
      }
      if (c != '"') return fail("unexpected " + describe(c) + "; expected a member name in quotes");
      token_ = token::string;
      key_string_ = true;
      key_.clear();
      return true;
    case expect::colon:
      if (c != ':') return fail("unexpected " + describe(c) + "; expected ':' after a member name");
      expect_ = expect::value;
      return true;
    case expect::comma_or_close:
      if (c == ',') {
        expect_ = close == '}' ? expect::key : expect::value;
      } else if (c == close) {
        close_container();
      } else {
        return fail("unexpected " + describe(c) + "; expected ',' or '" + close + "'");
      }
      return true;
    case expect::end:
      return fail("unexpected " + describe(c) + " after the end of the JSON");
  }
  return true;
}

// A value starts. The scanner's one piece of HAR knowledge is here: which value is log, its
// entries, an entry, or log.creator.
bool har_scanner::begin_value(char c) {
  auto const depth = stack_.size();
  if (depth == 3 && entries_open_) {
    if (c == '{' || c == '[') {
      begin_capture(capture::entry, c);
      return true;
    }
    // A string or number in log.entries is an entry too (a useless one): it keeps the numbering.
    done_.push_back({.index = next_index_++,
                     .begin = offset_,
                     .end = offset_ + 1,
                     .line = line_,
                     .bytes = {},
                     .trouble = scanned_entry::problem::not_object,
                     .trouble_at = offset_});
  }
  if (depth == 2 && log_open_ && log_key_ == "creator" && c == '{') {
    begin_capture(capture::creator, c);
    return true;
  }
  bool const opens_log = depth == 1 && root_key_ == "log" && !log_seen_;
  if (opens_log) log_seen_ = true;
  bool const opens_entries = depth == 2 && log_open_ && log_key_ == "entries" && !entries_found_;
  switch (c) {
    case '{':
    case '[':
      if (depth >= limits_.max_depth)
        return fail("it nests deeper than " + std::to_string(limits_.max_depth) + " levels", true);
      stack_ += c;
      expect_ = c == '{' ? expect::key_or_close : expect::value_or_close;
      if (opens_log && c == '{') log_open_ = log_object_ = true;
      if (opens_entries && c == '[') entries_open_ = entries_found_ = true;
      return true;
    case '"':
      token_ = token::string;
      key_string_ = false;
      return true;
    case 't':
    case 'f':
    case 'n':
      literal_ = c == 't' ? "true" : c == 'f' ? "false" : "null";
      literal_at_ = 1;
      token_ = token::literal;
      return true;
    default:
      if (c != '-' && !is_digit(c)) return fail("unexpected " + describe(c) + "; expected a value");
      number_ = c == '-' ? 1 : c == '0' ? 2 : 3;
      token_ = token::number;
      return true;
  }
}

void har_scanner::begin_capture(capture what, char open) {
  capture_ = what;
  cap_ = scanned_entry{};
  cap_.begin = offset_;
  cap_.line = line_;
  cap_.bytes.assign(1, open);
  cap_depth_ = 1;
  cap_in_string_ = false;
  cap_escape_ = false;
}

void har_scanner::end_capture() {
  cap_.end = offset_;
  if (capture_ == capture::entry) {
    cap_.index = next_index_++;
    done_.push_back(std::move(cap_));
  } else if (cap_.trouble == scanned_entry::problem::none) {
    creator_ = std::move(cap_.bytes);
  } else {
    creator_too_big_ = true;
  }
  cap_ = scanned_entry{};
  capture_ = capture::none;
  value_done();
}

void har_scanner::close_container() {
  if (stack_.size() == 3) entries_open_ = false;
  if (stack_.size() == 2) log_open_ = false;
  stack_.pop_back();
  value_done();
}

void har_scanner::value_done() {
  expect_ = stack_.empty() ? expect::end : expect::comma_or_close;
}

bool har_scanner::fail(std::string reason, bool too_deep) {
  error_ = scan_error{.offset = offset_,
                      .line = line_,
                      .column = offset_ - line_start_ + 1,
                      .reason = std::move(reason),
                      .too_deep = too_deep};
  return false;
}

}  // namespace regtrace::capture::detail
