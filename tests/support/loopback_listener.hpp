#pragma once
// The socket side shared by the in-process upstreams of the tests: a listener on 127.0.0.1:0 that
// hands every accepted connection to a handler on a thread of its own (synchronous code reads best
// in tests), and on destruction unblocks and joins all of them.

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace regtrace::test {

/// Accepts on 127.0.0.1, port 0; one thread per connection runs the handler, which owns the socket
/// until it returns. The handler must tolerate the socket being shut down under it (destruction).
/// A port on 127.0.0.1 that nothing listens on: bound, noted, closed (connections are refused).
std::uint16_t closed_port();

class loopback_listener {
 public:
  using handler = std::function<void(boost::asio::ip::tcp::socket&)>;
  explicit loopback_listener(handler on_connection);
  ~loopback_listener();
  loopback_listener(loopback_listener const&) = delete;
  loopback_listener& operator=(loopback_listener const&) = delete;

  std::uint16_t port() const { return port_; }
  std::size_t connections() const;  ///< connections accepted so far

  struct state;

 private:
  std::shared_ptr<state> state_;
  std::uint16_t port_ = 0;
};

}  // namespace regtrace::test
