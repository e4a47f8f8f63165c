#pragma once
// The one alias header (STYLE rule 1) and the project's completion token (STYLE rule 4).
// Heavy: include it only from the few translation units that do I/O.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace regtrace::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

/// Every co_await on the data path uses this: errors come back as values, never as exceptions.
inline constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

}  // namespace regtrace::proxy
