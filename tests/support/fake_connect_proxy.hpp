#pragma once
// The corporate proxy of the --upstream-proxy tests, played in-process: it records every CONNECT
// (request line, Host, Proxy-Authorization) and then refuses it with a scripted answer, or connects
// to the target and splices bytes both ways, as Squid or tinyproxy would.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace regtrace::test {

class fake_connect_proxy {
 public:
  struct options {
    /// Names the proxy resolves itself (a corporate proxy's DNS); IP literals are connected as they are.
    std::map<std::string, std::string> names;
    /// When set, the whole answer to every CONNECT (status line and headers), and no tunnel.
    std::string refusal;
    /// Bytes of filler sent after the refusal, as a large error page would be (to show that regtrace
    /// does not read it).
    std::uint64_t refusal_body_bytes = 0;
  };

  /// What one CONNECT carried.
  struct connect_seen {
    std::string request_line;         ///< "CONNECT host:port HTTP/1.1"
    std::string host;                 ///< the Host header, "" when absent
    std::string proxy_authorization;  ///< "" when absent
  };

  fake_connect_proxy();
  explicit fake_connect_proxy(options o);
  ~fake_connect_proxy();
  fake_connect_proxy(fake_connect_proxy const&) = delete;
  fake_connect_proxy& operator=(fake_connect_proxy const&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<connect_seen> connects() const;
  /// Bytes of the refusal body the proxy managed to write before the peer stopped taking them.
  std::uint64_t refusal_body_written() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
  std::uint16_t port_ = 0;
};

}  // namespace regtrace::test
