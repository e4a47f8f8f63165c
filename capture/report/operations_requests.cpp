// What one request says about the operation it belongs to: who sent it, which redirect it followed,
// which repository, actions and account it names.
#include "capture/report/operations_detail.hpp"
#include "capture/report/report.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/base64.hpp"
#include "capture/text/percent.hpp"
#include "capture/text/url.hpp"

namespace regtrace::capture::report::ops {
namespace {

/// Host, port and path of a URL: a Location and the request that fetched it agree on these, not on
/// the query (redaction rewrites signature values in one and maybe not the other).
struct place {
  std::string host;
  std::uint16_t port = 0;
  std::string path;
  bool operator==(place const&) const = default;
};

place place_of(exchange const& x) {
  return {to_lower(x.host), x.port, x.target.substr(0, x.target.find('?'))};
}

std::optional<place> location_place(exchange const& x, std::string_view location) {
  if (location.starts_with('/') && !location.starts_with("//"))
    return place{to_lower(x.host), x.port, std::string(location.substr(0, location.find('?')))};
  auto const url = parse_url(location);
  if (!url) return std::nullopt;
  return place{to_lower(url->host), url->port, url->target.substr(0, url->target.find('?'))};
}

}  // namespace

std::string client_key(exchange const& x) {
  auto const* agent = find_header(x.request_headers, "User-Agent");
  std::string key = agent ? *agent : std::string();
  if (auto const address = split_host_port(x.client_address)) key += '\n' + std::string(address->host);
  return key;
}

std::vector<std::optional<std::size_t>> redirect_origins(report const& r,
                                                         std::vector<std::size_t> const& order,
                                                         std::vector<std::string> const& clients) {
  std::vector<std::optional<std::size_t>> origin(r.exchanges.size());
  for (std::size_t a = 0; a < order.size(); ++a) {
    exchange const& x = r.exchanges[order[a]];
    auto const* location = find_header(x.response_headers, "Location");
    bool const redirect = x.status >= 300 && x.status < 400 && x.status != 304;
    if (x.kind != entry_kind::exchange || !redirect || !location) continue;
    auto const to = location_place(x, *location);
    for (std::size_t b = a + 1; to && b < order.size(); ++b) {
      auto const j = order[b];
      if (origin[j] || clients[j] != clients[order[a]] || r.exchanges[j].kind != entry_kind::exchange ||
          place_of(r.exchanges[j]) != *to)
        continue;
      origin[j] = order[a];
      break;
    }
  }
  return origin;
}

std::string param(std::string_view query, std::string_view key) {
  for (auto const& p : split_query(query))
    if (p.key == key) return percent_decode(p.value, true);
  return {};
}

std::string query_value(exchange const& x, std::string_view key) {
  auto const question = x.target.find('?');
  return question == std::string::npos ? std::string()
                                       : param(std::string_view(x.target).substr(question + 1), key);
}

std::pair<std::string, std::string> token_scope(exchange const& x) {
  std::string scope = query_value(x, "scope");
  if (scope.empty() && x.request_body.text_kept) scope = param(x.request_body.text, "scope");
  std::string_view rest = scope;
  while (!rest.empty()) {
    auto const space = rest.find(' ');
    auto const one = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    auto const first = one.find(':'), last = one.rfind(':');
    if (!one.starts_with("repository") || first == last) continue;
    return {std::string(one.substr(first + 1, last - first - 1)), std::string(one.substr(last + 1))};
  }
  return {};
}

std::string user_of(exchange const& x) {
  if (auto account = query_value(x, "account"); !account.empty()) return account;
  if (x.request_body.text_kept)
    if (auto name = param(x.request_body.text, "username"); !name.empty()) return name;
  auto const* auth = find_header(x.request_headers, "Authorization");
  if (!auth || !istarts_with(*auth, "Basic ")) return {};
  std::string_view const credential = trim_ows(std::string_view(*auth).substr(6));
  if (auto const at = credential.find("user="); credential.starts_with("<") && at != std::string_view::npos) {
    auto const name = credential.substr(at + 5);
    return std::string(name.substr(0, name.find(' ')));
  }
  auto const decoded = base64_decode(credential);
  if (!decoded || decoded->find(':') == std::string::npos) return {};
  return decoded->substr(0, decoded->find(':'));
}

}  // namespace regtrace::capture::report::ops
