// parse_error_body and error_of (capture/registry/error_body.cpp): registry JSON, Docker Hub's
// details, object-store XML, proxy HTML and plain text, whole or cut at the body limit. Properties:
// a body has a shape exactly when it is not blank; only registry JSON lists errors; a message taken from HTML
// or text is at most 200 bytes; code() is one of the codes the body named.

#include "capture/registry/error_body.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;
using format = capture::registry::error_body::format;

constexpr std::string_view content_types[] = {"application/json; charset=utf-8", "application/xml",
                                              "text/html", "text/plain", ""};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  auto const type = content_types[in.ConsumeIntegralInRange<std::size_t>(0, std::size(content_types) - 1)];
  bool const as_exchange = in.ConsumeBool();
  auto const body_text = in.ConsumeRemainingBytesAsString();
  exact_bytes const body(body_text);
  exact_bytes const content_type(type);
  auto const parsed = capture::registry::parse_error_body(body.view(), content_type.view());

  // Blank: ASCII white space only, with an optional UTF-8 byte order mark first.
  auto trim = [](std::string_view s) {
    auto const space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
  };
  auto rest = trim(body_text);
  if (rest.starts_with("\xEF\xBB\xBF")) rest = trim(rest.substr(3));
  require(rest.empty() == (parsed.kind == format::none), "a body has a shape exactly when it is not blank");
  require(parsed.errors.empty() || parsed.kind == format::registry_json, "only registry JSON lists errors");
  if (parsed.kind == format::html || parsed.kind == format::text)
    require(parsed.message.size() <= 200, "an HTML or text message is clipped to 200 bytes");
  auto const& code = parsed.code();
  require(code.empty() || code == parsed.vendor_code ||
              std::ranges::any_of(parsed.errors, [&](auto const& e) { return e.code == code; }),
          "code() is a code the body named");

  if (as_exchange) {
    capture::exchange x;
    x.status = 404;
    x.response_headers.push_back({"Content-Type", std::string(type)});
    x.response_headers.push_back({"x-ms-error-code", "BlobNotFound"});
    x.response_body.text = body_text;
    auto const error = capture::registry::error_of(x, capture::registry::request_kind::blob);
    require(!error.vendor_code.empty(),
            "error_of takes Azure's x-ms-error-code when the body names no vendor code");
  }
  return 0;
}
