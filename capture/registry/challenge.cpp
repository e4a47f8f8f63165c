#include "capture/registry/challenge.hpp"

#include "capture/text/ascii.hpp"

#include <algorithm>
#include <cstddef>

namespace regtrace::capture::registry {

namespace {

// tchar, RFC 9110 §5.6.2.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

// token68 characters before the trailing '=' padding, RFC 9110 §11.2.
bool is_token68_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// A cursor over a header value. Every read stops at the end of input, so truncated values are safe.
class cursor {
 public:
  explicit cursor(std::string_view s) : s_(s) {}

  bool done() const { return pos_ >= s_.size(); }
  bool at(char c) const { return !done() && s_[pos_] == c; }
  void advance() { ++pos_; }
  std::size_t pos() const { return pos_; }
  void rewind(std::size_t pos) { pos_ = pos; }

  void skip_space() {
    while (!done() && is_ows(s_[pos_])) ++pos_;
  }
  void skip_separators() {
    while (!done() && (is_ows(s_[pos_]) || s_[pos_] == ',')) ++pos_;
  }

  std::string_view token() {
    std::size_t const start = pos_;
    while (!done() && is_tchar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  std::string_view token68() {
    std::size_t const start = pos_;
    while (!done() && is_token68_char(s_[pos_])) ++pos_;
    if (pos_ == start) return {};
    while (at('=')) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  // quoted-string with quoted-pair (RFC 9110 §5.6.4); an unterminated string ends at the input's end.
  std::string quoted() {
    std::string out;
    advance();  // opening quote
    while (!done()) {
      char c = s_[pos_++];
      if (c == '"') break;
      if (c == '\\' && !done()) c = s_[pos_++];
      out.push_back(c);
    }
    return out;
  }

  // auth-param value: quoted-string, or (leniently, for servers that omit quotes around URLs) any run
  // of characters up to the next comma or space.
  std::string value() {
    if (at('"')) return quoted();
    std::size_t const start = pos_;
    while (!done() && s_[pos_] != ',' && !is_ows(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// An action list never contains '/', so a tail with one is part of the name ("host:port/repo").
bool looks_like_actions(std::string_view tail) {
  return tail.find('/') == std::string_view::npos;
}

std::vector<std::string> split_actions(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    std::size_t const comma = list.find(',');
    std::string_view const action = list.substr(0, comma);
    if (!action.empty()) out.emplace_back(action);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

scope_entry parse_scope_entry(std::string_view entry) {
  scope_entry out;
  std::size_t const first = entry.find(':');
  std::string_view type = entry.substr(0, first);
  // "resourcetype(class)": the class suffix is deprecated and ignored (catalog §4.2).
  if (std::size_t const paren = type.find('('); paren != std::string_view::npos) type = type.substr(0, paren);
  out.type = std::string(type);
  if (first == std::string_view::npos) return out;
  std::string_view rest = entry.substr(first + 1);
  std::size_t const last = rest.rfind(':');
  if (last == std::string_view::npos || !looks_like_actions(rest.substr(last + 1))) {
    out.name = std::string(rest);
    return out;
  }
  out.name = std::string(rest.substr(0, last));
  out.actions = split_actions(rest.substr(last + 1));
  return out;
}

}  // namespace

std::string auth_challenge::param(std::string_view name) const {
  std::string const wanted = to_lower(name);
  auto const it = std::ranges::find(params, wanted, &std::pair<std::string, std::string>::first);
  return it == params.end() ? std::string{} : it->second;
}

// RFC 9110 §11.6.1: challenges and their auth-params share one comma-separated list, so a token
// followed by '=' is a parameter of the current challenge and any other token starts a new challenge.
std::vector<auth_challenge> parse_www_authenticate(std::string_view value) {
  std::vector<auth_challenge> out;
  cursor in(value);
  while (true) {
    in.skip_separators();
    if (in.done()) break;
    std::string_view const name = in.token();
    if (name.empty()) {
      if (in.at('"')) {
        in.quoted();  // a stray quoted-string: skip it whole so its commas split nothing
      } else {
        in.advance();
      }
      continue;
    }
    in.skip_space();
    if (in.at('=')) {
      in.advance();
      in.skip_space();
      std::string param_value = in.value();
      if (!out.empty()) out.back().params.emplace_back(to_lower(name), std::move(param_value));
      continue;
    }
    auth_challenge challenge;
    challenge.scheme = to_lower(name);
    std::size_t const mark = in.pos();
    std::string_view const t68 = in.token68();
    in.skip_space();
    if (!t68.empty() && (in.done() || in.at(','))) {
      challenge.token68 = std::string(t68);
    } else {
      in.rewind(mark);
    }
    out.push_back(std::move(challenge));
  }
  return out;
}

std::vector<scope_entry> parse_scopes(std::string_view scope) {
  std::vector<scope_entry> out;
  std::size_t pos = 0;
  while (pos < scope.size()) {
    if (is_ows(scope[pos])) {
      ++pos;
      continue;
    }
    std::size_t end = pos;
    while (end < scope.size() && !is_ows(scope[end])) ++end;
    out.push_back(parse_scope_entry(scope.substr(pos, end - pos)));
    pos = end;
  }
  return out;
}

}  // namespace regtrace::capture::registry
