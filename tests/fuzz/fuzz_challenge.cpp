// parse_www_authenticate and parse_scopes (capture/registry/challenge.cpp): WWW-Authenticate values
// and token scopes as registries, proxies and token servers write them. Properties: every scheme is
// non-empty and lower-case, every parameter name a lower-case token, param() finds what the list
// holds, and each white-space separated scope word gives exactly one scope entry.

#include "capture/registry/challenge.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>
#include <cctype>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;

bool lower_token(std::string_view s) {
  return !s.empty() &&
         std::ranges::none_of(s, [](char c) { return std::isupper(static_cast<unsigned char>(c)); }) &&
         std::ranges::none_of(
             s, [](char c) { return c == ' ' || c == '\t' || c == ',' || c == '=' || c == '"'; });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::size_t word_count(std::string_view text) {
  std::size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    bool const space = c == ' ' || c == '\t';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  exact_bytes const input(data, size);
  auto const challenges = capture::registry::parse_www_authenticate(input.view());
  for (auto const& challenge : challenges) {
    require(lower_token(challenge.scheme), "a challenge's scheme is a lower-case token");
    for (auto const& [name, value] : challenge.params) {
      require(lower_token(name), "a parameter name is a lower-case token");
      require_equal(
          challenge.param(upper(name)),
          std::ranges::find(challenge.params, name, &std::pair<std::string, std::string>::first)->second,
          "param() finds the first parameter of that name, in any case");
    }
  }
  auto const scopes = capture::registry::parse_scopes(input.view());
  require(scopes.size() == word_count(input.view()), "one scope entry per scope word");
  for (auto const& scope : scopes)
    for (auto const& action : scope.actions) require(!action.empty(), "no empty action");
  return 0;
}
