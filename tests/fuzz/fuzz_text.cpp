// The one implementation of each text codec (capture/text/): percent-coding, base64 and URL, query
// and authority splitting. Properties: encoding then decoding gives the bytes back (percent, base64,
// base64url); the strict percent decoder agrees with the lenient one when it accepts; every piece a
// splitter returns is a view into its input; a port is accepted only as 0-65535 written in digits.

#include "capture/text/base64.hpp"
#include "capture/text/percent.hpp"
#include "capture/text/url.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>
#include <string>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;

bool inside(std::string_view piece, std::string_view whole) {
  return piece.empty() ||
         (piece.data() >= whole.data() && piece.data() + piece.size() <= whole.data() + whole.size());
}

void check_codecs(std::string_view text) {
  require_equal(capture::percent_decode(capture::percent_encode(text)), text,
                "percent-decoding undoes percent-encoding");
  if (auto const strict = capture::percent_decode_strict(text))
    require_equal(*strict, capture::percent_decode(text), "strict and lenient percent-decoding agree");
  (void)capture::percent_decode(text, true);
  auto const standard = capture::base64_decode(capture::base64_encode(text));
  require(standard && *standard == text, "base64 decoding undoes base64 encoding");
  auto const url_safe = capture::base64_decode(capture::base64url_encode(text));
  require(url_safe && *url_safe == text, "base64 decoding undoes base64url encoding");
  (void)capture::base64_decode(text);
}

void check_splitters(std::string_view text) {
  for (auto const& p : capture::split_query(text)) {
    require(inside(p.key, text) && inside(p.value, text), "query pieces are views into the query");
    require(p.key.find('&') == std::string_view::npos && p.value.find('&') == std::string_view::npos,
            "no query piece holds '&'");
    require(p.has_value || p.value.empty(), "a part without '=' has no value");
  }
  if (auto const hp = capture::split_host_port(text)) {
    require(inside(hp->host, text) && (!hp->port || inside(*hp->port, text)),
            "host and port are views into the authority");
  }
  if (auto const port = capture::parse_port_number(text)) {
    require(!text.empty() && text.size() <= 5 &&
                std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; }),
            "a port is written in digits");
    require(std::stoul(std::string(text)) == *port, "a port's value is its digits'");
  }
  if (auto const pieces = capture::split_url(text)) {
    require(pieces->target.starts_with('/'), "a URL's target starts with '/'");
    require(pieces->target.find('#') == std::string::npos, "a URL's target never holds its fragment");
  }
  (void)capture::parse_url(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  exact_bytes const input(data, size);
  check_codecs(input.view());
  check_splitters(input.view());
  return 0;
}
