#include "proxy/io/listen.hpp"

namespace regtrace::proxy {

beast::error_code open_listener(tcp::acceptor& acceptor, tcp::endpoint const& endpoint) {
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  return ec;
}

}  // namespace regtrace::proxy
