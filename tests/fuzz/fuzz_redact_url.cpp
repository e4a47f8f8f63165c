// redact_url and redact_query (capture/redaction/redaction.cpp): request targets, Location values and
// pre-signed storage URLs. Properties: redacting twice changes nothing, for any input; a secret query
// value (X-Amz-Signature, sig, token, password, ... with the key in any case or percent-encoded) or a
// userinfo password planted in a fuzz-chosen URL never survives, for registry and storage URLs alike.

#include "capture/redaction/redaction.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>
#include <cctype>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;

// Catalog §5's credential query keys (a sample of redaction.cpp's list, written here independently).
constexpr std::string_view secret_keys[] = {
    "X-Amz-Signature",  "X-Amz-Security-Token", "sig",    "Signature",
    "X-Goog-Signature", "access_token",         "token",  "refresh_token",
    "password",         "client_secret",        "_state", "AWSAccessKeyId"};

// The key as a client might spell it: any case, or one character percent-encoded.
std::string spell(FuzzedDataProvider& in, std::string_view key) {
  std::string out(key);
  for (auto& c : out)
    if (in.ConsumeBool()) c = static_cast<char>(in.ConsumeBool() ? std::toupper(c) : std::tolower(c));
  if (in.ConsumeBool()) {
    static constexpr char hex[] = "0123456789ABCDEF";
    auto const at = in.ConsumeIntegralInRange<std::size_t>(0, out.size() - 1);
    auto const c = static_cast<unsigned char>(out[at]);
    out.replace(at, 1, std::string{'%', hex[c >> 4], hex[c & 15]});
  }
  return out;
}

// Text that cannot end the query early: no fragment.
std::string without(std::string text, std::string_view banned) {
  std::ranges::replace_if(
      text, [&](char c) { return banned.find(c) != std::string_view::npos; }, '.');
  return text;
}

void check_idempotent(std::string_view text) {
  exact_bytes const input(text);
  for (bool storage : {false, true}) {
    auto const url = capture::redact_url(input.view(), storage);
    exact_bytes const url_again(url);
    require_equal(capture::redact_url(url_again.view(), storage), url, "redact_url is idempotent");
    auto const query = capture::redact_query(input.view(), storage);
    exact_bytes const query_again(query);
    require_equal(capture::redact_query(query_again.view(), storage), query, "redact_query is idempotent");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    check_idempotent(in.ConsumeRemainingBytesAsString());
    return 0;
  }
  bool const storage = in.ConsumeBool();
  bool const in_userinfo = in.ConsumeBool();
  auto const path = without(in.ConsumeRandomLengthString(128), "?#");
  auto const before = without(in.ConsumeRandomLengthString(256), "#");
  auto const key =
      spell(in, secret_keys[in.ConsumeIntegralInRange<std::size_t>(0, std::size(secret_keys) - 1)]);
  auto const secret = consume_secret(in, unreserved_chars);
  auto const after = without(in.ConsumeRemainingBytesAsString(), "#");

  std::string url = "https://";
  if (in_userinfo) url += "alice:" + secret + "@";
  url += "registry.test/" + path + "?" + before + "&";
  if (!in_userinfo) url += key + "=" + secret;
  url += "&" + after;

  check_idempotent(url);
  if (before.find(secret_tag) != std::string::npos || after.find(secret_tag) != std::string::npos ||
      path.find(secret_tag) != std::string::npos)
    return 0;
  exact_bytes const input(url);
  auto const redacted = capture::redact_url(input.view(), storage);
  if (redacted.find(secret) != std::string::npos)
    require_equal(url, redacted, "a secret planted in a URL survives redact_url");
  if (!in_userinfo) {
    auto const query = url.substr(url.find('?') + 1);
    exact_bytes const query_input(query);
    if (capture::redact_query(query_input.view(), storage).find(secret) != std::string::npos)
      require_equal(query, capture::redact_query(query_input.view(), storage),
                    "a secret planted in a query survives redact_query");
  }
  return 0;
}
