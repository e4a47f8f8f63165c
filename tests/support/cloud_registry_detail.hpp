#pragma once
// Internal to the scripted cloud registry: its state, shared by the listener (cloud_registry.cpp) and
// the three services (cloud_services.cpp).

#include "tests/support/cloud_registry.hpp"
#include "tests/support/loopback_listener.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace regtrace::test {
namespace cloud {

using clock_type = std::chrono::system_clock;

struct route {
  std::string host;
  std::string method;
  std::string target;
  std::vector<reply> answers;
  std::size_t next = 0;
};

struct stored_manifest {
  std::string media_type;
  std::string body;
  std::string digest;
};

struct issued_token {
  std::string audience;
  clock_type::time_point not_before;
  clock_type::time_point expires;
  std::map<std::string, std::set<std::string>> actions;  // repository name → granted actions
};

struct user {
  std::string password;
  std::vector<std::string> scopes;
};

inline constexpr char const* api_version = "registry/2.0";
inline constexpr char const* storage_key = "storage-account-key-1";
inline constexpr char const* rotated_key = "storage-account-key-2";

}  // namespace cloud

struct cloud_registry::state {
  boost::asio::ssl::context tls{boost::asio::ssl::context::tls_server};
  std::uint16_t port = 0;
  mutable std::mutex mutex;
  std::vector<cloud::route> routes;
  bool bearer = false;
  std::map<std::string, cloud::user> users;
  std::vector<std::string> anonymous_scopes;
  std::chrono::seconds token_skew{0};
  std::map<std::string, cloud::issued_token> tokens;
  std::map<std::string, cloud::stored_manifest> manifests;  // "name:reference" → manifest
  std::map<std::string, std::string> blobs;                 // digest → content
  std::chrono::seconds presign_lifetime{600};
  bool wrong_key = false;
  std::vector<received_request> requests;
  std::unique_ptr<loopback_listener> listener;  // reset first on destruction: it joins the threads
};

namespace cloud {

/// auth.test: the token realm (GET with Basic, POST form), catalog §4.3/§4.4.
reply token_service(cloud_registry::state& s, received_request const& r);
/// storage.test: pre-signed blob GETs answered like Azure Blob.
reply storage_service(cloud_registry::state& s, received_request const& r);
/// registry.test: /v2/ API with token checking when enabled.
reply registry_service(cloud_registry const& self, cloud_registry::state& s, received_request const& r);
/// The SAS `sig` for a blob path, expiry and permissions under a storage key.
std::string sas_signature(std::string_view key, std::string_view path, std::string_view expiry,
                          std::string_view permissions);
/// "/docker/registry/v2/blobs/sha256/ab/abcd.../data", distribution's storage layout.
std::string blob_path(std::string const& digest);
/// RFC 3986 unreserved characters kept, everything else %XX.
std::string percent_encode(std::string_view text);
/// ASCII lower case.
std::string lower(std::string_view text);

}  // namespace cloud
}  // namespace regtrace::test
