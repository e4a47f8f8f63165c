#include "capture/replay/matcher.hpp"

#include "capture/text/ascii.hpp"
#include "capture/redaction/redaction.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/text/url.hpp"

#include <array>

namespace regtrace::capture::replay {
namespace {

// Query keys whose values change with time or are redacted in traces (catalog §5, §7.1), so a replayed
// client's fresh values must not stop a match. Keys are compared case-insensitively.
constexpr std::array<std::string_view, 22> volatile_keys{
    "_state",        "sig",          "se",           "st",        "skoid",          "sktid",
    "ske",           "skt",          "signature",    "expires",   "key-pair-id",    "policy",
    "awsaccesskeyid", "googleaccessid", "access_token", "token",  "refresh_token",  "password",
    "code",          "verify",       "ts",           "timestamp"};

bool is_volatile(std::string_view key) {
  if (key.size() > 6 && (iequals(key.substr(0, 6), "x-amz-") || iequals(key.substr(0, 7), "x-goog-")))
    return true;
  for (auto known : volatile_keys)
    if (iequals(key, known)) return true;
  return false;
}


// The path with the upload UUID of /blobs/uploads/<id> replaced: registries mint a new one per session.
std::string stable_path(std::string_view path) {
  constexpr std::string_view marker = "/blobs/uploads/";
  auto at = path.find(marker);
  if (at == std::string_view::npos || at + marker.size() == path.size()) return std::string(path);
  return std::string(path.substr(0, at + marker.size())) + "{upload}";
}

std::string stable_query(std::string_view query) {
  bool const presigned = registry::is_presigned_storage_query(query);
  std::string out;
  for (auto const& p : split_query(query)) {
    if (!out.empty()) out += '&';
    out += p.key;
    if (!p.has_value) continue;
    out += '=';
    if (!presigned && !is_volatile(p.key) && !is_redaction_marker(p.value)) out += p.value;
  }
  return out;
}

}  // namespace

std::string match_key(std::string_view method, std::string_view scheme, std::string_view host,
                      std::uint16_t port, std::string_view target, std::string_view range) {
  std::string key(method);
  key += ' ';
  key += to_lower(host);
  bool const default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  if (!default_port) key += ':' + std::to_string(port);
  key += ' ';
  auto const question = target.find('?');
  key += stable_path(target.substr(0, question));
  if (question != std::string_view::npos) {
    key += '?';
    key += stable_query(target.substr(question + 1));
  }
  if (!range.empty()) {
    key += " range=";
    key += range;
  }
  return key;
}

std::string match_key(exchange const& x) {
  auto const* range = find_header(x.request_headers, "Range");
  return match_key(x.method, x.scheme, x.host, x.port, x.target, range ? std::string_view(*range) : std::string_view{});
}

bool can_answer(exchange const& recorded) {
  // An entry without an answer replays only when the client gave up waiting for one (silence).
  return recorded.status != 0 || failed_with(recorded, errc::client_abandoned);
}

bool matcher::add(exchange const& recorded, std::size_t index) {
  if (!can_answer(recorded)) return false;
  by_key_[match_key(recorded)].answers.push_back(trace_index_.size());
  trace_index_.push_back(index);
  return true;
}

std::optional<matcher::match> matcher::next(std::string_view key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  auto& q = it->second;
  bool const repeated = q.used >= q.answers.size();
  std::size_t const answer = q.answers[repeated ? q.answers.size() - 1 : q.used++];
  return match{trace_index_[answer], answer, repeated};
}

}  // namespace regtrace::capture::replay
