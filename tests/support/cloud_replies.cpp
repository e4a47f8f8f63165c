// The answers of real registries, token services and storage that the scripted upstream replays:
// bodies and headers as catalog §1.3, §3 and the vendors' documentation show them.
#include "tests/support/cloud_registry.hpp"

#include <nlohmann/json.hpp>

#include <ctime>

namespace regtrace::test {

reply registry_error(int status, std::string const& code, std::string const& message, header_pairs extra) {
  nlohmann::json body = {{"errors", {{{"code", code}, {"message", message}}}}};
  reply r{status,
          {{"Content-Type", "application/json; charset=utf-8"},
           {"Docker-Distribution-Api-Version", "registry/2.0"}},
          body.dump(),
          {}};
  r.headers.insert(r.headers.end(), extra.begin(), extra.end());
  return r;
}

reply acr_disallowed() {
  return registry_error(405, "REGISTRY_DISALLOWED_OPERATION",
                        "The operation is disallowed on this registry, repository or image.");
}

reply acr_firewall_denied(std::string const& ip) {
  return registry_error(403, "DENIED",
                        "client with IP '" + ip +
                            "' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.");
}

reply nginx_413() {
  return {413,
          {{"Server", "nginx/1.25.3"}, {"Content-Type", "text/html"}, {"Connection", "close"}},
          "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
          "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
          "</body>\r\n</html>\r\n",
          {}};
}

reply waf_403_page() {
  return {403,
          {{"Server", "BigIP"}, {"Content-Type", "text/html; charset=utf-8"}, {"Cache-Control", "no-cache"}},
          "<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>"
          "<p>The requested URL was rejected. Please consult with your administrator.</p>"
          "<p>Your support ID is: 1234567890123456789</p></body></html>",
          {}};
}

reply too_many_requests(int retry_after_seconds) {
  return registry_error(429, "TOOMANYREQUESTS",
                        "You have reached your pull rate limit. You may increase the limit by authenticating "
                        "and upgrading: https://www.docker.com/increase-rate-limit",
                        {{"Retry-After", std::to_string(retry_after_seconds)}});
}

reply azure_error(int status, std::string const& code, std::string const& message,
                  std::string const& authentication_detail) {
  auto const now = std::chrono::system_clock::now();
  std::string const request_id = "5c1a2f3e-601e-0042-1f2b-3c4d5e000000";
  std::string body = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + code +
                     "</Code><Message>" + message + "\nRequestId:" + request_id + "\nTime:" + iso8601(now) +
                     "</Message>";
  if (!authentication_detail.empty())
    body += "<AuthenticationErrorDetail>" + authentication_detail + "</AuthenticationErrorDetail>";
  body += "</Error>";
  return {status,
          {{"Content-Type", "application/xml"},
           {"Server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"},
           {"x-ms-request-id", request_id},
           {"x-ms-version", "2020-10-02"},
           {"x-ms-error-code", code}},
          body,
          {}};
}

std::string digest_of(std::string const& content) {
  sha256_stream hash;
  hash.update(content);
  return "sha256:" + hash.hex();
}

namespace {

std::string format_utc(std::chrono::system_clock::time_point t, char const* format) {
  std::time_t const seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof text, format, &utc);
  return text;
}

}  // namespace

std::string http_date(std::chrono::system_clock::time_point t) {
  return format_utc(t, "%a, %d %b %Y %H:%M:%S GMT");
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  return format_utc(t, "%Y-%m-%dT%H:%M:%SZ");
}

}  // namespace regtrace::test
