// The in-process corporate proxy: synchronous Beast, one thread per connection and one more per tunnel.
#include "tests/support/fake_connect_proxy.hpp"

#include "tests/support/loopback_listener.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

namespace regtrace::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct fake_connect_proxy::state {
  options opts;
  mutable std::mutex mutex;
  std::vector<connect_seen> seen;
  std::atomic<std::uint64_t> refusal_written{0};
  std::unique_ptr<loopback_listener> listener;  // reset first on destruction: it joins the threads
};

namespace {

// Copies from one socket to the other until either fails, then half-closes the destination so its
// peer sees the end too.
void pump(tcp::socket& from, tcp::socket& to) {
  std::array<char, 16 * 1024> buffer;
  for (;;) {
    beast::error_code ec;
    auto n = from.read_some(net::buffer(buffer), ec);
    if (ec) break;
    net::write(to, net::buffer(buffer.data(), n), ec);
    if (ec) break;
  }
  beast::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

void refuse(tcp::socket& client, fake_connect_proxy::state& s) {
  beast::error_code ec;
  net::write(client, net::buffer(s.opts.refusal), ec);
  std::array<char, 64 * 1024> filler;
  filler.fill('x');
  while (!ec && s.refusal_written < s.opts.refusal_body_bytes) {
    auto n = std::min<std::uint64_t>(filler.size(), s.opts.refusal_body_bytes - s.refusal_written);
    s.refusal_written += net::write(client, net::buffer(filler.data(), n), ec);
  }
}

void serve(tcp::socket& client, fake_connect_proxy::state& s) {
  beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  beast::error_code ec;
  http::read_header(client, buffer, parser, ec);
  if (ec) return;
  auto const& request = parser.get();
  std::string const target(request.target());
  {
    std::lock_guard lock(s.mutex);
    s.seen.push_back({std::string(request.method_string()) + " " + target + " HTTP/1.1",
                      std::string(request[http::field::host]),
                      std::string(request[http::field::proxy_authorization])});
  }
  if (!s.opts.refusal.empty()) return refuse(client, s);

  // host:port or [v6]:port
  auto const colon = target.rfind(':');
  std::string host = target.substr(0, colon);
  if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
  if (auto named = s.opts.names.find(host); named != s.opts.names.end()) host = named->second;
  tcp::socket upstream(client.get_executor());
  auto address = net::ip::make_address(host, ec);
  if (!ec && colon != std::string::npos)
    upstream.connect({address, static_cast<std::uint16_t>(std::stoi(target.substr(colon + 1)))}, ec);
  if (ec || colon == std::string::npos) {
    net::write(client, net::buffer(std::string_view("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")),
               ec);
    return;
  }
  net::write(client, net::buffer(std::string_view("HTTP/1.1 200 Connection established\r\n\r\n")), ec);
  if (ec) return;
  if (buffer.size() > 0) net::write(upstream, buffer.data(), ec);
  std::thread back([&] { pump(upstream, client); });
  pump(client, upstream);
  // The tests' clients close whole connections: when regtrace's side ends, so does the tunnel.
  upstream.shutdown(tcp::socket::shutdown_both, ec);
  back.join();
}

}  // namespace

fake_connect_proxy::fake_connect_proxy() : fake_connect_proxy(options{}) {}

fake_connect_proxy::fake_connect_proxy(options o) : state_(std::make_shared<state>()) {
  state_->opts = std::move(o);
  state_->listener =
      std::make_unique<loopback_listener>([s = state_](tcp::socket& socket) { serve(socket, *s); });
  port_ = state_->listener->port();
}

fake_connect_proxy::~fake_connect_proxy() {
  state_->listener.reset();
}

std::vector<fake_connect_proxy::connect_seen> fake_connect_proxy::connects() const {
  std::lock_guard lock(state_->mutex);
  return state_->seen;
}

std::uint64_t fake_connect_proxy::refusal_body_written() const {
  return state_->refusal_written;
}

}  // namespace regtrace::test
