// parse_connect_authority and parse_absolute_target (proxy/config/connect_target.cpp): the
// destination a client names in CONNECT host:port or an absolute-form URL, before it becomes a DNS
// query or a certificate name. Properties: an accepted destination has a non-empty host of the
// accepted characters (or an IPv6 literal) and a port other than 0; format_authority writes it back
// to text that parses to the same destination; an absolute target's origin form starts with '/'.

#include "proxy/config/connect_target.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;

void check_authority(proxy::authority const& a) {
  require(!a.host.empty() && a.port != 0, "a destination has a host and a port");
  bool const v6 = a.host.find(':') != std::string::npos;
  require(!v6 || proxy::is_ip_literal(a.host), "a host with ':' is an IPv6 literal");
  require(v6 || std::ranges::all_of(a.host,
                                    [](char c) {
                                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                             (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
                                    }),
          "a host is made of name characters");
  exact_bytes const written(proxy::format_authority(a));
  auto const again = proxy::parse_connect_authority(written.view());
  require(again && *again == a, "format_authority writes what parse_connect_authority reads back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  exact_bytes const input(data, size);
  if (auto const a = proxy::parse_connect_authority(input.view())) check_authority(*a);
  if (auto const t = proxy::parse_absolute_target(input.view())) {
    check_authority(t->destination);
    require(t->scheme == "http" || t->scheme == "https", "an absolute target is http or https");
    require(t->origin_form.starts_with('/'), "the origin form starts with '/'");
    require(t->origin_form.find('#') == std::string::npos, "the origin form carries no fragment");
  }
  (void)proxy::is_ip_literal(input.view());
  return 0;
}
