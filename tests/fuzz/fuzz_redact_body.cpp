// redact(exchange) (capture/redaction/): headers, Location, cookies, JSON bodies (parsed, or scanned
// when malformed or cut at the body limit) and form bodies. Properties: redacting a redacted
// exchange changes nothing, for any headers and any body, JSON or not; a secret planted as a JSON
// token member (at any depth, in a document possibly cut short), as a form field or in a credential
// header never survives.

#include "capture/redaction/redaction.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;
using json = nlohmann::ordered_json;

constexpr std::string_view content_types[] = {"application/json",
                                              "application/x-www-form-urlencoded",
                                              "text/plain; charset=utf-8",
                                              "text/html",
                                              "application/vnd.oci.image.manifest.v1+json",
                                              "application/xml",
                                              ""};
constexpr std::string_view header_names[] = {
    "Authorization",   "Proxy-Authorization", "Cookie",       "Set-Cookie", "Location",
    "X-Registry-Auth", "WWW-Authenticate",    "Content-Type", "X-Custom"};
// Catalog §5's token members of JSON bodies and fields of token forms, written here independently.
constexpr std::string_view json_secret_keys[] = {"token",    "access_token",  "refresh_token", "id_token",
                                                 "password", "identitytoken", "registrytoken", "auth"};
constexpr std::string_view form_secret_keys[] = {
    "password", "refresh_token", "access_token", "client_secret", "assertion", "code", "token"};

std::string_view pick(FuzzedDataProvider& in, auto const& list) {
  return list[in.ConsumeIntegralInRange<std::size_t>(0, std::size(list) - 1)];
}

std::string any_case(FuzzedDataProvider& in, std::string_view word) {
  std::string out(word);
  for (auto& c : out)
    if (in.ConsumeBool()) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lines(capture::header_list const& headers) {
  std::string out;
  for (auto const& [name, value] : headers) out += name + ": " + value + "\n";
  return out;
}

void require_same(capture::exchange const& a, capture::exchange const& b) {
  require_equal(a.target, b.target, "redact() is idempotent: target");
  require_equal(lines(a.request_headers), lines(b.request_headers),
                "redact() is idempotent: request headers");
  require_equal(lines(a.response_headers), lines(b.response_headers),
                "redact() is idempotent: response headers");
  require_equal(a.request_body.text, b.request_body.text, "redact() is idempotent: request body");
  require_equal(a.response_body.text, b.response_body.text, "redact() is idempotent: response body");
  require_equal(a.failure->detail, b.failure->detail, "redact() is idempotent: failure detail");
}

// Any exchange: fuzz-chosen headers, bodies and content types.
capture::exchange any_exchange(FuzzedDataProvider& in) {
  capture::exchange x;
  x.method = in.ConsumeBool() ? "GET" : "POST";
  x.host = in.ConsumeBool() ? "registry.test" : in.ConsumeRandomLengthString(32);
  x.target = in.ConsumeRandomLengthString(256);
  x.status = in.ConsumeBool() ? 307 : 200;
  for (int i = in.ConsumeIntegralInRange(0, 4); i > 0; --i)
    x.request_headers.push_back({std::string(pick(in, header_names)), in.ConsumeRandomLengthString(128)});
  for (int i = in.ConsumeIntegralInRange(0, 4); i > 0; --i)
    x.response_headers.push_back({std::string(pick(in, header_names)), in.ConsumeRandomLengthString(128)});
  x.request_headers.push_back({"Content-Type", std::string(pick(in, content_types))});
  x.response_headers.push_back({"Content-Type", std::string(pick(in, content_types))});
  x.request_body.text = in.ConsumeRandomLengthString(1024);
  x.failure = capture::failure_record{};
  x.failure->detail = in.ConsumeRandomLengthString(256);
  x.response_body.text = in.ConsumeRemainingBytesAsString();
  return x;
}

// A JSON value built from the input, at most depth levels deep.
json any_json(FuzzedDataProvider& in, int depth) {
  switch (depth > 0 ? in.ConsumeIntegralInRange(0, 5) : in.ConsumeIntegralInRange(2, 5)) {
    case 0: {
      json object = json::object();
      for (int i = in.ConsumeIntegralInRange(0, 3); i > 0; --i)
        object[in.ConsumeRandomLengthString(12)] = any_json(in, depth - 1);
      return object;
    }
    case 1: {
      json array = json::array();
      for (int i = in.ConsumeIntegralInRange(0, 3); i > 0; --i) array.push_back(any_json(in, depth - 1));
      return array;
    }
    case 2:
      return in.ConsumeRandomLengthString(32);
    case 3:
      return in.ConsumeIntegral<std::int32_t>();
    case 4:
      return in.ConsumeBool();
    default:
      return nullptr;
  }
}

// {"...": [{"...": {"token": "Zq9..."}}]}: the planted member nested up to 80 levels (past the
// parsed path's depth limit, so the scanner takes over), beside fuzz-chosen members.
std::string json_with_secret(FuzzedDataProvider& in, std::string const& secret) {
  json value = any_json(in, 2);
  json holder = value.is_object() ? value : json::object();
  holder[any_case(in, pick(in, json_secret_keys))] = secret;
  for (int levels = in.ConsumeIntegralInRange(0, 80); levels > 0; --levels) {
    if (in.ConsumeBool()) {
      holder = json::array({any_json(in, 1), std::move(holder)});
    } else {
      json wrapper = json::object();
      wrapper[in.ConsumeRandomLengthString(8)] = std::move(holder);
      holder = std::move(wrapper);
    }
  }
  json root = json::object();
  root[in.ConsumeRandomLengthString(8)] = std::move(holder);
  return root.dump(in.ConsumeBool() ? -1 : 1, ' ', false, json::error_handler_t::replace);
}

void check_planted(FuzzedDataProvider& in) {
  auto const secret = consume_secret(in, unreserved_chars);
  capture::exchange x;
  x.method = "POST";
  x.host = "auth.registry.test";
  x.target = "/token";
  x.status = 200;
  std::string planted_text;
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: {
      auto text = json_with_secret(in, secret);
      if (text.find(secret_tag) != text.rfind(secret_tag)) return;  // a fuzz-chosen member holds the tag
      // A preview cut at the body limit: anywhere after the secret began.
      if (in.ConsumeBool()) text.resize(in.ConsumeIntegralInRange(text.find(secret), text.size()));
      x.response_headers.push_back({"Content-Type", in.ConsumeBool() ? "application/json" : ""});
      x.response_body.text = text;
      planted_text = text;
      break;
    }
    case 1: {
      auto const before = in.ConsumeRandomLengthString(128);
      auto const after = in.ConsumeRandomLengthString(128);
      x.request_headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
      x.request_body.text =
          before + "&" + any_case(in, pick(in, form_secret_keys)) + "=" + secret + "&" + after;
      planted_text = x.request_body.text;
      break;
    }
    default: {
      auto const name = pick(in, header_names);
      auto const value = (name == "Cookie" || name == "Set-Cookie")      ? "session=" + secret
                         : (name == "X-Registry-Auth")                   ? secret
                         : (name == "Location")                          ? "https://x.test/?sig=" + secret
                         : (name == "Authorization" || in.ConsumeBool()) ? "Bearer " + secret
                                                                         : "token: Bearer " + secret + "\"";
      x.response_headers.push_back({std::string(name), value});
      planted_text = value;
      break;
    }
  }
  // The fuzz-chosen parts may themselves hold the tag: then nothing tells ours from theirs.
  if (planted_text.find(secret_tag) != planted_text.rfind(secret_tag)) return;
  capture::redact(x);
  bool const leaked =
      x.response_body.text.find(secret_tag) != std::string::npos ||
      x.request_body.text.find(secret_tag) != std::string::npos ||
      (!x.response_headers.empty() && x.response_headers[0].value.find(secret_tag) != std::string::npos);
  if (leaked)
    require_equal(planted_text,
                  x.response_body.text + x.request_body.text +
                      (x.response_headers.empty() ? "" : x.response_headers[0].value),
                  "a planted secret survives redact()");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    check_planted(in);
    return 0;
  }
  auto once = any_exchange(in);
  capture::redact(once);
  auto twice = once;
  capture::redact(twice);
  require_same(once, twice);
  return 0;
}
