// Accept loop and connection threads of the tests' in-process upstreams.
#include "tests/support/loopback_listener.hpp"

#include <sys/socket.h>

#include <mutex>
#include <thread>
#include <vector>

namespace regtrace::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct loopback_listener::state {
  net::io_context io;
  tcp::acceptor acceptor{io};
  handler on_connection;
  std::atomic<std::size_t> connections{0};
  std::mutex mutex;
  std::vector<int> open_sockets;  // shut down on destruction to unblock connection threads
  std::vector<std::thread> threads;
  std::thread acceptor_thread;
};

std::uint16_t closed_port() {
  net::io_context io;
  tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

loopback_listener::loopback_listener(handler on_connection) : state_(std::make_shared<state>()) {
  state_->on_connection = std::move(on_connection);
  state_->acceptor.open(tcp::v4());
  state_->acceptor.bind({net::ip::make_address("127.0.0.1"), 0});
  state_->acceptor.listen();
  port_ = state_->acceptor.local_endpoint().port();
  state_->acceptor_thread = std::thread([s = state_] {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket(s->io);
      s->acceptor.accept(socket, ec);
      if (ec) return;
      ++s->connections;
      std::lock_guard lock(s->mutex);
      s->open_sockets.push_back(socket.native_handle());
      s->threads.emplace_back([s, socket = std::move(socket)]() mutable {
        socket.set_option(tcp::no_delay(true));
        s->on_connection(socket);
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
      });
    }
  });
}

loopback_listener::~loopback_listener() {
  ::shutdown(state_->acceptor.native_handle(), SHUT_RDWR);
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  state_->acceptor_thread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(state_->mutex);
    for (int fd : state_->open_sockets) ::shutdown(fd, SHUT_RDWR);
    threads = std::move(state_->threads);
  }
  for (auto& thread : threads) thread.join();
}

std::size_t loopback_listener::connections() const {
  return state_->connections;
}

}  // namespace regtrace::test
