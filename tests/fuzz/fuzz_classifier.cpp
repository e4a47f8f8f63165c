// classify, is_presigned_storage_query and is_valid_repository_name (capture/registry/classifier.cpp):
// what a request URL is in registry terms. Properties: the fields classify fills agree with the kind
// (a reference only for a manifest, an upload id only for an upload, a repository for every
// repository endpoint); an absolute-form target names the same thing as its origin form with the host
// apart; a valid repository name is made only of the grammar's characters.

#include "capture/registry/classifier.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;
using capture::registry::request_kind;

constexpr std::string_view methods[] = {"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"};
constexpr std::string_view hosts[] = {"registry.test",
                                      "acct.blob.core.windows.net",
                                      "bucket.s3.us-east-1.amazonaws.com",
                                      "storage.googleapis.com",
                                      "d1.cloudfront.net",
                                      "[::1]:5000",
                                      ""};

void check_fields(capture::registry::classification const& c) {
  require(c.reference.empty() || c.kind == request_kind::manifest, "a reference only for a manifest");
  require(c.upload_id.empty() || c.kind == request_kind::upload, "an upload id only for an upload");
  bool const repository_endpoint = c.kind == request_kind::manifest || c.kind == request_kind::blob ||
                                   c.kind == request_kind::upload || c.kind == request_kind::tags ||
                                   c.kind == request_kind::referrers;
  require(!repository_endpoint || !c.repository.empty(), "a repository endpoint names its repository");
  require(c.repository.empty() || repository_endpoint || c.kind == request_kind::token,
          "a repository only for repository endpoints and token scopes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  auto const method = methods[in.ConsumeIntegralInRange<std::size_t>(0, std::size(methods) - 1)];
  auto const host = hosts[in.ConsumeIntegralInRange<std::size_t>(0, std::size(hosts) - 1)];
  auto const target_text = in.ConsumeRemainingBytesAsString();
  exact_bytes const target(target_text);
  exact_bytes const host_bytes(host);

  auto const origin = capture::registry::classify(method, host_bytes.view(), target.view());
  check_fields(origin);
  if (target_text.starts_with('/')) {
    exact_bytes const absolute("https://" + std::string(host) + target_text);
    auto const same = capture::registry::classify(method, "elsewhere.test", absolute.view());
    require(same == origin, "an absolute-form target is classified as its origin form with the host apart");
  }
  (void)capture::registry::is_presigned_storage_query(target.view());
  if (capture::registry::is_valid_repository_name(target.view())) {
    require(target_text.size() <= 255, "a repository name has at most 255 characters");
    require(std::ranges::all_of(target_text,
                                [](char c) {
                                  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                                         c == '_' || c == '-' || c == '/';
                                }),
            "a repository name is lower-case letters, digits and separators");
    require(!target_text.starts_with('/') && !target_text.ends_with('/') &&
                target_text.find("//") == std::string::npos,
            "a repository name has no empty component");
  }
  return 0;
}
