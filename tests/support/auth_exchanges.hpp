#pragma once
// Hand-written token flows for the group B rule tests (catalog §4): Docker Hub's challenge and token
// URLs, JWTs with the claims the rules read, a 401 with its challenge, a token answer, credentials.

#include "capture/model/exchange.hpp"
#include "capture/text/base64.hpp"
#include "tests/support/exchanges.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace regtrace::capture::test {

inline constexpr auto hub_challenge =
    R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")";
inline constexpr auto hub_token_url =
    "https://auth.docker.io/"
    "token?account=alice&scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io";
inline constexpr auto anonymous_token_url =
    "https://auth.docker.io/token?scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io";
inline constexpr auto manifest_url = "https://registry-1.docker.io/v2/library/alpine/manifests/3.19";
inline constexpr auto blob_url =
    "https://registry-1.docker.io/v2/library/alpine/blobs/"
    "sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8";

inline std::string jwt(nlohmann::json const& payload) {
  return capture::base64url_encode(R"({"alg":"ES256","typ":"JWT"})") + "." + capture::base64url_encode(payload.dump()) + ".c2lnbmF0dXJl";
}

inline exchange challenge_401(std::string method, std::string url, std::string challenge = hub_challenge) {
  return with_response(make_exchange(std::move(method), url, 401, {},
                                     registry_headers({{"WWW-Authenticate", std::move(challenge)}})),
                       R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
}

inline exchange token_200(std::string url, header_list request_headers, std::string token = "tok.en.x") {
  return with_response(make_exchange("GET", url, 200, std::move(request_headers)),
                       R"({"token":")" + token + R"(","expires_in":300,"issued_at":"2026-11-27T21:56:37Z"})");
}

inline header_list basic_alice() {
  return {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}};  // alice:secret
}

inline header_list bearer(std::string token = "tok.en.x") {
  return {{"Authorization", "Bearer " + token}};
}

}  // namespace regtrace::capture::test
