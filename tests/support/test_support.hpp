#pragma once
// Integration-test support: a TLS upstream played in-process (synchronous Beast, a thread per
// connection), a client that goes through the proxy, and a proxy fixture on port 0.

#include "capture/model/exchange.hpp"
#include "proxy/config/config.hpp"
#include "proxy/session/server.hpp"
#include "tls/authority.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace regtrace::test {

/// A fresh directory under /tmp, removed with its contents on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  std::filesystem::path const& path() const { return path_; }
  std::filesystem::path operator/(std::string const& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Deterministic bytes: byte i of every body is pattern_byte(i), so any chunk can be made alone.
void fill_pattern(std::uint64_t offset, std::span<char> out);
/// SHA-256 (hex) of the first size pattern bytes.
std::string pattern_sha256(std::uint64_t size);

/// Incremental SHA-256 written with OpenSSL directly, independent of the code under test.
class sha256_stream {
 public:
  sha256_stream();
  ~sha256_stream();
  void update(std::string_view data);
  std::string hex();

 private:
  void* ctx_;
};

/// Runs a shell command and returns its standard output (and standard error when the command says
/// 2>&1); the exit status (as pclose returns it) goes to *status.
std::string run_command(std::string const& command, int* status);

/// A test CA and a leaf for the given names, written as PEM files in dir.
struct test_pki {
  std::filesystem::path ca_file;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
};
/// The leaf carries a DNS subjectAltName for host and for each of more_hosts.
test_pki make_test_pki(std::filesystem::path const& dir, std::string const& host,
                       std::vector<std::string> const& more_hosts = {});

/// An HTTPS (or plain HTTP) server on 127.0.0.1:0 with fixed routes used by the tests:
///   GET|HEAD /blob/N       N pattern bytes (Content-Length), honours Range: bytes=A-
///   PUT|POST /upload       reads the body; 201 with JSON {"bytes":N,"sha256":"..."}
///   GET /chunked           a chunked body ("chunk-0;" ... "chunk-9;")
///   GET /redirect          307 to https://storage.test/blob?sig=secret&se=2030
///   GET /close-delimited   HTTP/1.1 200 with no length, body ended by closing the connection
///   GET /headers           200, JSON echo of the request header names it received
///   GET /stall/N           promises N bytes, sends 100 KiB, then stays silent
///   GET /silent            never answers
///   anything else          404 {"errors":[{"code":"NAME_UNKNOWN"}]}
class fake_upstream {
 public:
  /// tls: serve HTTPS with pki's leaf; otherwise plain HTTP.
  explicit fake_upstream(std::optional<test_pki> pki);
  ~fake_upstream();
  std::uint16_t port() const { return port_; }
  std::size_t connections() const;
  std::size_t requests() const;
  /// Header names of the last request received, in order.
  std::vector<std::string> last_request_header_names() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
  std::uint16_t port_ = 0;
};

/// What a test client saw of one response.
struct client_response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names; last value wins
  std::string body;                            ///< kept when under 1 MiB
  std::uint64_t body_bytes = 0;
  std::string body_sha256;
  bool keep_alive = false;
};

/// A client of the proxy. open_tunnel() sends CONNECT and handshakes TLS trusting trust_ca;
/// without it, requests go in absolute form over plain HTTP.
class proxy_client {
 public:
  explicit proxy_client(std::uint16_t proxy_port);
  ~proxy_client();
  /// CONNECT host:port; returns the proxy's status line code (200 on success).
  int send_connect(std::string const& authority, std::string const& extra_headers = "");
  /// TLS handshake inside the tunnel; returns "" or the error text. legacy_tls_only: offer TLS 1.0/1.1 only.
  std::string handshake(std::string const& sni, std::filesystem::path const& trust_ca,
                        bool legacy_tls_only = false);
  /// One request: target is origin-form in a tunnel, absolute-form otherwise. upload_bytes > 0 sends
  /// that many pattern bytes as the body (Content-Length). head: the response has no body.
  client_response request(std::string const& method, std::string const& target,
                          std::vector<std::pair<std::string, std::string>> const& headers = {},
                          std::uint64_t upload_bytes = 0, bool chunked_upload = false);
  /// One request with a text body (a manifest, a token form); Content-Length set from it.
  client_response request_text(std::string const& method, std::string const& target,
                               std::vector<std::pair<std::string, std::string>> const& headers,
                               std::string const& body);
  /// Writes one request and does not wait for the answer (a client that gives up before it comes).
  void send_only(std::string const& method, std::string const& target,
                 std::vector<std::pair<std::string, std::string>> const& headers = {});
  /// Reads the answer to a request written with send_only (method: HEAD answers have no body).
  client_response receive(std::string const& method);
  /// Writes raw bytes and reads whatever answer comes (for malformed requests).
  std::string raw_exchange(std::string const& bytes);
  /// Writes raw bytes and reads nothing (a request cut short, a CONNECT left without its handshake).
  void send_raw(std::string const& bytes);
  /// Reads whatever comes until the first "\r\n\r\n" (a CONNECT's answer) and returns it.
  std::string read_head();

  struct state;

 private:
  std::unique_ptr<state> state_;
};

/// Waits until the trace file holds at least n complete entries (the trace writer batches for up to
/// 50 ms); returns the entries read last. Bounded only so that a broken proxy ends the test.
std::vector<capture::exchange> wait_for_trace_entries(std::filesystem::path const& har, std::size_t n);

/// A proxy::server on 127.0.0.1:0 with its CA and trace in a temp dir.
class proxy_fixture {
 public:
  /// adjust may change the configuration (resolve rules, passthrough, ...) before start.
  explicit proxy_fixture(std::function<void(proxy::proxy_config&)> adjust = {});
  ~proxy_fixture();
  std::uint16_t port() const { return server_->port(); }
  /// Where /metrics is served (config.metrics_host set), else 0.
  std::uint16_t metrics_port() const { return server_->metrics_port(); }
  std::filesystem::path ca_file() const { return dir_ / "ca" / "ca.crt"; }
  std::filesystem::path har_file() const { return dir_ / "trace.har"; }
  /// Stops the proxy (draining the trace) and reads the trace back.
  std::vector<capture::exchange> stop_and_read();

 private:
  temp_dir dir_;
  std::unique_ptr<proxy::server> server_;
};

}  // namespace regtrace::test
