#include "capture/redaction/redaction.hpp"

#include "capture/redaction/redaction_detail.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace regtrace::capture {
namespace {

using detail::userinfo_password;

bool is_b64url_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// RFC 9110 §11.2 token68, the credential syntax of Bearer and Basic.
bool is_token68_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' ||
         c == '+' || c == '/';
}

std::size_t b64url_run(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_b64url_char(text[pos])) ++pos;
  return pos;
}

// eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]* at pos: returns the end, or nullopt and where the
// scan may resume (no JWT can start before it, so the scan stays linear).
std::optional<std::size_t> jwt_end(std::string_view text, std::size_t pos, std::size_t& resume) {
  auto const e1 = b64url_run(text, pos + 3);
  resume = std::max(e1, pos + 1);
  if (e1 == pos + 3 || e1 >= text.size() || text[e1] != '.') return std::nullopt;
  auto const e2 = b64url_run(text, e1 + 1);
  if (e2 == e1 + 1 || e2 >= text.size() || text[e2] != '.') return std::nullopt;
  return b64url_run(text, e2 + 1);
}

// "Bearer x"/"Basic x" at pos (pos is at a word start): the credential's span, or nullopt. Auth-params
// (`Bearer realm="..."`, `error="invalid_token"`) and English words ("Basic authentication") are not
// credentials, so challenges and prose survive.
std::optional<std::pair<std::size_t, std::size_t>> scheme_credential(std::string_view text, std::size_t pos) {
  std::size_t word = 0;
  if (iequals(text.substr(pos, 6), "bearer"))
    word = 6;
  else if (iequals(text.substr(pos, 5), "basic"))
    word = 5;
  else
    return std::nullopt;
  auto begin = pos + word;
  if (begin >= text.size() || (text[begin] != ' ' && text[begin] != '\t')) return std::nullopt;
  while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  auto end = begin;
  while (end < text.size() && is_token68_char(text[end])) ++end;
  if (end == begin) return std::nullopt;
  auto const letters_end = end;
  while (end < text.size() && text[end] == '=') ++end;
  // `name="` is an auth-param (a name of letters, one '=', a quote); a credential quoted in prose or
  // JSON text ("Bearer abc123", "Basic dXNlcjpwdw==") ends at its closing quote and still goes.
  bool const auth_param = end == letters_end + 1 && end < text.size() && text[end] == '"' &&
                          std::all_of(text.begin() + begin, text.begin() + letters_end, [](char c) {
                            return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                          });
  // A marker right after the run stands for more of it (a JWT found inside, redacted first): the
  // run was not a credential of its own before, so it is not one now, or a second pass would differ.
  auto const rest = text.substr(end);
  bool const marker_follows = rest.starts_with("<redacted ") || rest.starts_with("%3Credacted%20");
  if (end < text.size() && (is_token68_char(text[end]) || auth_param || marker_follows)) return std::nullopt;
  bool word_like = end == letters_end;
  for (auto i = begin; i < letters_end && word_like; ++i)
    word_like = i == begin ? std::isalpha(static_cast<unsigned char>(text[i])) != 0
                           : std::islower(static_cast<unsigned char>(text[i])) != 0;
  if (word_like) return std::nullopt;
  return std::pair{begin, end};
}

}  // namespace

// The password of "scheme://user:password@host" when the "://" is at pos. The authority stops at
// '<' too, so an already redacted password ("user:<redacted ...>@") is not found again.
std::optional<std::pair<std::size_t, std::size_t>> detail::userinfo_password(std::string_view text,
                                                                             std::size_t pos) {
  auto const begin = pos + 3;
  // A marker percent-encoded in a query value ends the authority as its '<' does in plain text, so
  // that encoding a value's markers (redaction.cpp) never changes what a second pass finds.
  auto const end = std::min(
      {text.find_first_of("/?# \t\r\n\"'<>", begin), text.find("%3Credacted%20", begin), text.size()});
  auto const at = text.substr(begin, end - begin).rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto const colon = text.substr(begin, at).find(':');
  if (colon == std::string_view::npos || colon + 1 == at) return std::nullopt;
  return std::pair{begin + colon + 1, begin + at};
}

std::string redact_text(std::string_view text) {
  // A hand-written scan: std::regex recurses per character and overflows the stack on MiB bodies.
  std::string out;
  std::size_t copied = 0;
  auto replace = [&](std::size_t begin, std::size_t end) {
    out.append(text.substr(copied, begin - copied));
    out += redaction_marker(text.substr(begin, end - begin));
    copied = end;
  };
  // A URL's password is replaced when the scan reaches it, so the user before it is scanned too (a JWT
  // there would otherwise survive this pass and be found by the next).
  std::optional<std::pair<std::size_t, std::size_t>> password;
  std::size_t i = 0;
  while (i < text.size()) {
    if (password && i >= password->first) {
      if (copied <= password->first) replace(password->first, password->second);
      i = std::max(i, password->second);
      password.reset();
      continue;
    }
    char const c = text[i];
    if (c == 'e' && text.substr(i, 3) == "eyJ") {
      std::size_t resume = i + 1;
      if (auto end = jwt_end(text, i, resume)) {
        replace(i, *end);
        i = *end;
      } else {
        i = resume;
      }
      continue;
    }
    bool const word_start = i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1]));
    if ((c == 'B' || c == 'b') && word_start) {
      if (auto credential = scheme_credential(text, i)) {
        replace(credential->first, credential->second);
        i = credential->second;
        continue;
      }
    }
    if (c == ':' && !password && text.substr(i, 3) == "://") password = userinfo_password(text, i);
    ++i;
  }
  if (password && copied <= password->first) replace(password->first, password->second);
  if (copied == 0) return std::string(text);
  return out.append(text.substr(copied));
}

}  // namespace regtrace::capture
