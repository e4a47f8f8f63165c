// The token readers (capture/registry/jwt.cpp): decode_jwt, bearer_credential, parse_token_answer and
// read_token_request. Properties: a JWT made of two base64url-encoded segments decodes exactly when
// both are JSON objects (checked here with nlohmann directly), a redaction marker is never taken for
// a JWT, the Bearer credential is a piece of the header value, and the Basic username read from a
// token request is the user that was encoded, never more (no password).

#include "capture/redaction/redaction.hpp"
#include "capture/registry/jwt.hpp"
#include "capture/text/base64.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <nlohmann/json.hpp>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;

bool is_json_object(std::string_view text) {
  auto const doc = nlohmann::json::parse(text, nullptr, false);
  return !doc.is_discarded() && doc.is_object();
}

void check_token(std::string_view text) {
  exact_bytes const input(text);
  (void)capture::registry::decode_jwt(input.view());
  auto const credential = capture::registry::bearer_credential(input.view());
  require(credential.empty() ||
              (credential.data() >= input.view().data() &&
               credential.data() + credential.size() <= input.view().data() + input.view().size()),
          "the Bearer credential is a piece of the value");
  (void)capture::registry::parse_token_answer(input.view());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      check_token(in.ConsumeRemainingBytesAsString());
      break;
    case 1: {
      auto const header = in.ConsumeRandomLengthString(256);
      auto const payload = in.ConsumeRemainingBytesAsString();
      auto const token =
          capture::base64url_encode(header) + "." + capture::base64url_encode(payload) + ".c2ln";
      exact_bytes const input(token);
      auto const claims = capture::registry::decode_jwt(input.view());
      require(claims.has_value() == (is_json_object(header) && is_json_object(payload)),
              "a JWT decodes exactly when header and payload are JSON objects");
      if (claims) (void)capture::registry::granted_text(claims->access);
      exact_bytes const marker(capture::redaction_marker(token));
      require(!capture::registry::decode_jwt(marker.view()), "a redaction marker is no JWT");
      break;
    }
    case 2: {
      auto const user = consume_from(in, 0, 16, unreserved_chars);
      auto const password = in.ConsumeRandomLengthString(64);
      capture::exchange x;
      x.method = in.ConsumeBool() ? "GET" : "POST";
      x.request_headers.push_back(
          {"Authorization", "Basic " + capture::base64_encode(user + ":" + password)});
      x.target = in.ConsumeRandomLengthString(256);
      x.request_body.text = in.ConsumeRemainingBytesAsString();
      auto const request = capture::registry::read_token_request(x);
      bool const form_username =
          x.method == "POST" && x.request_body.text.find("username=") != std::string::npos;
      bool const account = x.target.find("account=") != std::string::npos;
      if (!form_username && !account)
        require_equal(request.username, user, "the Basic username is the user, no more");
      require(request.credential == "Basic", "a Basic credential is named Basic");
      break;
    }
    default: {
      capture::exchange x;
      x.method = in.ConsumeBool() ? "GET" : "POST";
      x.request_headers.push_back({"Authorization", in.ConsumeRandomLengthString(128)});
      x.target = in.ConsumeRandomLengthString(256);
      x.request_body.text = in.ConsumeRemainingBytesAsString();
      (void)capture::registry::read_token_request(x);
      break;
    }
  }
  return 0;
}
