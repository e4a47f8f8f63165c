#pragma once
// What every fuzz target shares: the input as an exactly sized heap copy (so AddressSanitizer sees a
// read one byte past the end, which std::string's terminator would hide), a property check that
// aborts with a sentence, and libFuzzer's FuzzedDataProvider to split one input into several.
// Included once by each fuzz target (one translation unit each): it also defines Boost's assertion
// handler for the fuzz build (REGTRACE_FUZZ defines BOOST_ENABLE_ASSERT_HANDLER).

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace regtrace::fuzz {

/// Bytes on the heap, exactly as many as given: a parser reading past them is an ASan report.
class exact_bytes {
 public:
  explicit exact_bytes(std::string_view bytes)
      : size_(bytes.size()), data_(new char[bytes.size() == 0 ? 1 : bytes.size()]) {
    if (size_ != 0) std::memcpy(data_.get(), bytes.data(), size_);
    // An empty input still gets a pointer of its own; reading its one byte is outside the view.
  }
  exact_bytes(std::uint8_t const* data, std::size_t size)
      : exact_bytes(std::string_view(reinterpret_cast<char const*>(data), size)) {}

  std::string_view view() const { return {data_.get(), size_}; }

 private:
  std::size_t size_;
  std::unique_ptr<char[]> data_;
};

/// A property the target checks: when it does not hold, the input is a defect. libFuzzer saves the
/// input as crash-<sha1> on the abort and prints its path.
inline void require(bool holds, char const* property) {
  if (holds) return;
  std::fprintf(stderr, "\nPROPERTY FAILED: %s\n", property);
  std::abort();
}

/// As require(), with the values that disagree printed (escaped) for the report.
inline void require_equal(std::string_view a, std::string_view b, char const* property) {
  if (a == b) return;
  auto show = [](std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        out += static_cast<char>(c);
      } else {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        out += hex;
      }
    }
    return out;
  };
  std::fprintf(stderr, "\nfirst:  \"%s\"\nsecond: \"%s\"\n", show(a).c_str(), show(b).c_str());
  require(false, property);
}

/// A string of up to max_size bytes, each mapped into alphabet (so planted text keeps a known shape).
inline std::string consume_from(FuzzedDataProvider& in, std::size_t min_size, std::size_t max_size,
                                std::string_view alphabet) {
  auto const size = in.ConsumeIntegralInRange<std::size_t>(min_size, max_size);
  std::string out;
  for (std::size_t i = 0; i < size; ++i)
    out += alphabet[in.ConsumeIntegralInRange<std::size_t>(0, alphabet.size() - 1)];
  return out;
}

/// RFC 9110 token68 characters: what Bearer and Basic credentials are made of.
inline constexpr std::string_view token_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
/// RFC 3986 unreserved characters: a query value that needs no percent-encoding.
inline constexpr std::string_view unreserved_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
/// base64url, the alphabet of JWT segments.
inline constexpr std::string_view b64url_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Every planted secret starts with this; a fuzz-chosen context containing it is not checked for
/// leaks (the "leak" would be the context's own text).
inline constexpr std::string_view secret_tag = "Zq9";

/// A secret to plant: secret_tag (which holds a digit and an upper-case letter, so no rule may take it for
/// an English word), then 5 to 39 characters of alphabet.
inline std::string consume_secret(FuzzedDataProvider& in, std::string_view alphabet) {
  return std::string(secret_tag) + consume_from(in, 5, 39, alphabet);
}

}  // namespace regtrace::fuzz

namespace boost {

// Boost 1.81's Beast asserts `n >= 5` in basic_parser::parse_chunk_header when a final chunk arrives
// in pieces ("0\r\n", then "\r\n"); 3 bytes are valid there and the code after it asks for more input,
// as it should. The assertion was corrected upstream (boostorg/beast#2861); release builds, the
// proxy's, compile it out. Every other Boost assertion aborts.
void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (std::string_view(expr) == "n >= 5" &&
      std::string_view(file).ends_with("beast/http/impl/basic_parser.ipp"))
    return;
  std::fprintf(stderr, "%s:%ld: %s: Boost assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
  std::fprintf(stderr, "%s:%ld: %s: Boost assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
