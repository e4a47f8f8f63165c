// redact_text (capture/redaction/redaction_text.cpp), the free-text redaction of error bodies, HTML,
// header values and failure details. Properties: redacting twice changes nothing; a secret planted
// in fuzz-chosen text (a Bearer or Basic credential, a JWT, the password of a URL's userinfo) never
// survives.

#include "capture/redaction/redaction.hpp"
#include "capture/text/base64.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>
#include <cctype>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;

// What may stand right before and after a planted secret: characters that end a credential in text.
constexpr std::string_view before_chars = " \t\r\n,;('\"<>=:[{";
constexpr std::string_view after_chars = " \t\r\n,;)'\"<>&]}";

struct planted {
  std::string text;          ///< what goes between the separators
  std::string must_not_see;  ///< a secret that must not appear in the output
};

// A credential redact_text deliberately keeps: an English word after "Basic" or "Bearer"
// ("Basic authentication"), which is prose, not a secret.
bool word_like(std::string_view credential) {
  if (credential.empty() || !std::isalpha(static_cast<unsigned char>(credential[0]))) return false;
  for (char c : credential.substr(1))
    if (!std::islower(static_cast<unsigned char>(c))) return false;
  return true;
}

planted plant(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: {
      auto const secret = consume_secret(in, token_chars) + std::string(in.ConsumeIntegralInRange(0, 2), '=');
      return {(in.ConsumeBool() ? "Bearer" : "bearer") + std::string(in.ConsumeIntegralInRange(1, 3), ' ') +
                  secret,
              secret};
    }
    case 1: {
      auto const user = consume_from(in, 1, 12, unreserved_chars);
      auto const credential = capture::base64_encode(user + ":" + consume_secret(in, token_chars));
      // Prose ("Basic authentication") and an auth-param's start (`Basic realm="`) are kept on purpose.
      bool const param_like = credential.ends_with('=') && !credential.ends_with("==") &&
                              std::all_of(credential.begin(), credential.end() - 1, [](char c) {
                                return std::isalpha(static_cast<unsigned char>(c)) != 0;
                              });
      if (word_like(credential) || param_like) return {"Basic " + credential, {}};
      return {(in.ConsumeBool() ? "Basic " : "BASIC\t") + credential, credential};
    }
    case 2: {
      auto const jwt = "eyJ" + consume_from(in, 1, 30, b64url_chars) + "." +
                       consume_secret(in, b64url_chars) + "." + consume_secret(in, b64url_chars);
      return {jwt, jwt.substr(jwt.find('.'))};
    }
    default: {
      auto const password = consume_secret(in, unreserved_chars);
      return {"https://" + consume_from(in, 1, 12, unreserved_chars) + ":" + password + "@registry.test/v2/",
              password};
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  bool const with_secret = in.ConsumeBool();
  auto const prefix = in.ConsumeRandomLengthString(512);
  auto const secret = with_secret ? plant(in) : planted{};
  auto const separator_before =
      before_chars[in.ConsumeIntegralInRange<std::size_t>(0, before_chars.size() - 1)];
  auto const separator_after = after_chars[in.ConsumeIntegralInRange<std::size_t>(0, after_chars.size() - 1)];
  auto const suffix = in.ConsumeRemainingBytesAsString();

  std::string text = prefix;
  if (with_secret) text += separator_before + secret.text + separator_after;
  text += suffix;

  exact_bytes const input(text);
  auto const once = capture::redact_text(input.view());
  exact_bytes const again(once);
  require_equal(capture::redact_text(again.view()), once, "redact_text is idempotent");

  // A marker right after a credential stands for more of it (redaction_text.cpp): a suffix that
  // spells one makes the planted credential part of a longer run, kept on purpose.
  bool const marker_after = separator_after == '<' && suffix.starts_with("redacted ");
  // A scheme word right before ("Bearer BASIC\tx") takes the planted scheme word for its credential.
  auto const last = prefix.find_last_not_of(" \t");
  auto const trimmed = std::string_view(prefix).substr(0, last == std::string::npos ? 0 : last + 1);
  std::string tail(trimmed.substr(trimmed.size() - std::min<std::size_t>(trimmed.size(), 6)));
  for (auto& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool const scheme_before = (separator_before == ' ' || separator_before == '\t') &&
                             (tail.ends_with("bearer") || tail.ends_with("basic"));
  auto const in_context = [&](std::string_view s) {
    return prefix.find(s) != std::string::npos || suffix.find(s) != std::string::npos;
  };
  bool const context_has_secret =
      marker_after || scheme_before || in_context(secret_tag) || in_context(secret.must_not_see);
  if (!secret.must_not_see.empty() && !context_has_secret &&
      once.find(secret.must_not_see) != std::string::npos) {
    require_equal(text, once, "a secret planted in text survives redact_text");
  }
  return 0;
}
