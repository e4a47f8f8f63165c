#include "capture/registry/error_body.hpp"

#include "capture/text/ascii.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <utility>

namespace regtrace::capture::registry {

namespace {

using json = nlohmann::json;

constexpr std::size_t max_text_message = 200;

// Never throws on invalid UTF-8 (nlohmann's default error handler does).
std::string compact(json const& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string string_or_dump(json const& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return {};
  return compact(j);
}

// The five predefined XML entities (XML 1.0 §4.6); anything else is left as written.
std::string decode_entities(std::string_view s) {
  static constexpr std::pair<std::string_view, char> named[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      auto const entity =
          std::ranges::find_if(named, [&](auto const& e) { return s.substr(i).starts_with(e.first); });
      if (entity != std::end(named)) {
        out.push_back(entity->second);
        i += entity->first.size();
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

// Text of the first <tag>...</tag> (tag matched case-insensitively, attributes allowed). A truncated
// body yields the text up to its end. found is false when there is no such opening tag.
std::string element_text(std::string_view doc, std::string_view tag, bool& found) {
  found = false;
  std::string const open = "<" + std::string(tag);
  for (std::size_t pos = ifind(doc, open); pos != std::string_view::npos; pos = ifind(doc, open, pos + 1)) {
    std::size_t const after = pos + open.size();
    if (after < doc.size() && doc[after] != '>' && !is_whitespace(doc[after])) continue;  // <Codes>, <titles>
    std::size_t const gt = doc.find('>', pos);
    if (gt == std::string_view::npos) return {};
    found = true;
    std::string_view const rest = doc.substr(gt + 1);
    return decode_entities(trim_whitespace(rest.substr(0, ifind(rest, "</" + std::string(tag)))));
  }
  return {};
}

// At most max_text_message bytes, cut at a UTF-8 character boundary.
std::string clip(std::string_view s) {
  if (s.size() <= max_text_message) return std::string(s);
  std::size_t n = max_text_message;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

std::string first_line(std::string_view body) {
  while (!body.empty()) {
    std::size_t const nl = body.find('\n');
    std::string_view const line = trim_whitespace(body.substr(0, nl));
    if (!line.empty()) return clip(line);
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  return {};
}

// catalog §1: {"errors":[{"code","message","detail"}]}, or Docker Hub auth's {"details":"..."} (§1.3).
bool parse_json(std::string_view body, error_body& out) {
  json const doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return false;
  if (auto const errors = doc.find("errors"); errors != doc.end() && errors->is_array()) {
    out.kind = error_body::format::registry_json;
    for (json const& e : *errors) {
      if (!e.is_object()) continue;
      registry_error entry;
      if (auto const it = e.find("code"); it != e.end()) entry.code = string_or_dump(*it);
      if (auto const it = e.find("message"); it != e.end()) entry.message = string_or_dump(*it);
      if (auto const it = e.find("detail"); it != e.end() && !it->is_null()) entry.detail = compact(*it);
      out.errors.push_back(std::move(entry));
    }
    return true;
  }
  if (auto const details = doc.find("details"); details != doc.end() && details->is_string()) {
    out.kind = error_body::format::details_json;
    out.message = details->get<std::string>();
    return true;
  }
  return false;
}

// The JSON string literal that follows `"key":` at or after pos, decoded; "" if absent or cut short.
std::string salvage_string(std::string_view body, std::string_view key, std::size_t pos, std::size_t limit) {
  std::string const quoted_key = "\"" + std::string(key) + "\"";
  std::size_t at = body.find(quoted_key, pos);
  if (at == std::string_view::npos || at >= limit) return {};
  at += quoted_key.size();
  while (at < body.size() && is_whitespace(body[at])) ++at;
  if (at >= body.size() || body[at] != ':') return {};
  ++at;
  while (at < body.size() && is_whitespace(body[at])) ++at;
  if (at >= body.size() || body[at] != '"') return {};
  std::size_t end = at + 1;
  while (end < body.size() && body[end] != '"') end += body[end] == '\\' ? 2 : 1;
  if (end >= body.size()) return {};
  json const literal = json::parse(body.substr(at, end - at + 1), nullptr, false);
  return literal.is_string() ? literal.get<std::string>() : std::string{};
}

// A preview cut inside {"errors":[...]} still names its codes; recover each complete "code" and the
// "message" that follows it before the next "code".
bool salvage_truncated_errors(std::string_view body, error_body& out) {
  std::size_t const errors = body.find("\"errors\"");
  if (errors == std::string_view::npos) return false;
  std::vector<registry_error> found;
  for (std::size_t pos = body.find("\"code\"", errors); pos != std::string_view::npos;) {
    std::size_t const next = body.find("\"code\"", pos + 1);
    std::size_t const limit = next == std::string_view::npos ? body.size() : next;
    registry_error entry;
    entry.code = salvage_string(body, "code", pos, pos + 1);
    entry.message = salvage_string(body, "message", pos, limit);
    if (!entry.code.empty()) found.push_back(std::move(entry));
    pos = next;
  }
  if (found.empty()) return false;
  out.kind = error_body::format::registry_json;
  out.errors = std::move(found);
  return true;
}

bool parse_xml(std::string_view body, error_body& out) {
  bool has_error = false;
  bool has_code = false;
  bool has_message = false;
  element_text(body, "Error", has_error);
  std::string code = element_text(body, "Code", has_code);
  std::string message = element_text(body, "Message", has_message);
  if (!has_error && !has_code) return false;
  out.kind = error_body::format::xml;
  out.vendor_code = std::move(code);
  out.message = std::move(message);
  return true;
}

bool parse_html(std::string_view body, error_body& out) {
  bool has_title = false;
  std::string title = element_text(body, "title", has_title);
  if (!has_title) {
    bool has_h1 = false;
    title = element_text(body, "h1", has_h1);
    if (!has_h1 && ifind(body, "<html") == std::string_view::npos) return false;
  }
  out.kind = error_body::format::html;
  out.message = clip(title);
  return true;
}

}  // namespace

error_body parse_error_body(std::string_view body, std::string_view content_type) {
  error_body out;
  std::string_view text = trim_whitespace(body);
  if (text.starts_with("\xEF\xBB\xBF")) text = trim_whitespace(text.substr(3));  // UTF-8 BOM
  if (text.empty()) return out;

  bool const json_type = ifind(content_type, "json") != std::string_view::npos;
  bool const xml_type = ifind(content_type, "xml") != std::string_view::npos;

  // Sniff the body as well as trusting the type: registries and storage get Content-Type wrong.
  if (text.front() == '{' || json_type) {
    if (parse_json(text, out)) return out;
    if (text.front() == '{' && salvage_truncated_errors(text, out)) return out;
  }
  if (text.front() == '<') {
    bool const xml_like = xml_type || istarts_with(text, "<?xml") || istarts_with(text, "<Error");
    if (xml_like && parse_xml(text, out)) return out;
    if (parse_html(text, out)) return out;  // also XHTML pages that begin with <?xml
  }
  out.kind = error_body::format::text;
  out.message = first_line(text);
  return out;
}

std::string const& error_body::code() const {
  static std::string const none;
  for (auto const& err : errors)
    if (!err.code.empty()) return err.code;
  return vendor_code.empty() ? none : vendor_code;
}

error_body error_of(exchange const& x, request_kind kind) {
  error_body error;
  if (x.status < 400 && kind != request_kind::token) return error;
  auto const* type = find_header(x.response_headers, "Content-Type");
  error = parse_error_body(x.response_body.text, type ? *type : std::string_view{});
  if (error.vendor_code.empty())
    if (auto const* ms = find_header(x.response_headers, "x-ms-error-code")) error.vendor_code = *ms;
  return error;
}

}  // namespace regtrace::capture::registry
