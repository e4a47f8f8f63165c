#include "proxy/session/metrics_server.hpp"

#include "capture/export/metrics.hpp"
#include "proxy/io/listen.hpp"
#include "proxy/io/net.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

#include <set>
#include <stdexcept>

namespace regtrace::proxy {

struct metrics_server::impl {
  impl(net::io_context& io, metrics_server_options options_in, std::function<std::string()> exposition_in,
       std::shared_ptr<spdlog::logger> log_in)
      : acceptor(io),
        options(std::move(options_in)),
        exposition(std::move(exposition_in)),
        log(std::move(log_in)) {}

  tcp::acceptor acceptor;
  metrics_server_options options;
  std::function<std::string()> exposition;
  std::shared_ptr<spdlog::logger> log;
  std::set<beast::tcp_stream*> connections;  ///< open scrapes, closed by stop(); io's thread only
  bool stopped = false;                      ///< io's thread only
};

namespace {

using scrape_request = http::request<http::empty_body>;
using scrape_response = http::response<http::string_body>;

// Binds --metrics; loopback only unless --allow-remote (SPEC §8: the metrics name the registries used).
void bind_metrics_listener(tcp::acceptor& acceptor, metrics_server_options const& options) {
  auto const where = options.host + ":" + std::to_string(options.port);
  beast::error_code ec;
  auto address = net::ip::make_address(options.host, ec);
  if (ec) throw std::runtime_error("cannot serve metrics on \"" + options.host + "\": not an IP address");
  if (!address.is_loopback() && !options.allow_remote)
    throw std::runtime_error(
        "--metrics " + where +
        " would let other machines read the metrics; add --allow-remote, or use 127.0.0.1");
  ec = open_listener(acceptor, tcp::endpoint(address, options.port));
  if (ec)
    throw std::runtime_error("cannot serve metrics on " + where + ": " + ec.message() +
                             ". Choose another address with --metrics.");
}

// GET or HEAD /metrics (any query) is the exposition; another path is 404, another method 405.
scrape_response answer(scrape_request const& request, metrics_server::impl const& state) {
  scrape_response response{http::status::ok, request.version()};
  response.set(http::field::server, "regtrace");
  response.keep_alive(request.keep_alive());
  auto const target = request.target();
  bool const head = request.method() == http::verb::head;
  if (target.substr(0, target.find('?')) != "/metrics") {
    response.result(http::status::not_found);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "regtrace serves its metrics at /metrics\n";
  } else if (!head && request.method() != http::verb::get) {
    response.result(http::status::method_not_allowed);
    response.set(http::field::allow, "GET, HEAD");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "/metrics answers GET and HEAD\n";
  } else {
    try {
      response.body() = state.exposition();
      response.set(http::field::content_type, capture::exposition_content_type);
    } catch (std::exception const& e) {
      // Out of memory while writing the text: this scrape fails, the next one may not.
      response.result(http::status::internal_server_error);
      response.body() = std::string("the metrics could not be written: ") + e.what() + "\n";
    }
  }
  response.prepare_payload();
  if (head) response.body().clear();  // Content-Length stays: what a GET would carry (RFC 9110 §9.3.2)
  return response;
}

// One scrape connection: requests answered in turn while the client keeps it alive.
net::awaitable<void> serve_scrapes(tcp::socket socket, std::shared_ptr<metrics_server::impl> state) {
  beast::tcp_stream stream(std::move(socket));
  state->connections.insert(&stream);
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::empty_body> parser;  // a body on a scrape is refused: the connection ends
    parser.header_limit(static_cast<std::uint32_t>(state->options.header_limit_bytes));
    stream.expires_after(state->options.idle_timeout);
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (read_ec) break;
    auto response = answer(parser.get(), *state);
    stream.expires_after(state->options.idle_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, response, use_nothrow);
    if (write_ec || !response.keep_alive()) break;
  }
  state->connections.erase(&stream);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

net::awaitable<void> accept_scrapes(std::shared_ptr<metrics_server::impl> state) {
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(use_nothrow);
    if (state->stopped || !state->acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or similar: the proxy's own listener says more; try again shortly.
      state->log->warn("metrics: accept failed: {}", ec.message());
      net::steady_timer pause(state->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    net::co_spawn(state->acceptor.get_executor(), serve_scrapes(std::move(socket), state),
                  [log = state->log](std::exception_ptr error) {
                    if (!error) return;
                    try {
                      std::rethrow_exception(error);
                    } catch (std::exception const& e) {
                      log->error("a metrics connection ended by an unexpected error: {}", e.what());
                    }
                  });
  }
}

}  // namespace

metrics_server::metrics_server(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

metrics_server::~metrics_server() = default;

std::unique_ptr<metrics_server> metrics_server::create(net::io_context& io, metrics_server_options options,
                                                       std::function<std::string()> exposition,
                                                       std::shared_ptr<spdlog::logger> log) {
  auto state = std::make_shared<impl>(io, std::move(options), std::move(exposition), std::move(log));
  bind_metrics_listener(state->acceptor, state->options);
  return std::unique_ptr<metrics_server>(new metrics_server(std::move(state)));
}

std::uint16_t metrics_server::port() const {
  beast::error_code ec;
  auto const endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void metrics_server::start() {
  net::co_spawn(impl_->acceptor.get_executor(), accept_scrapes(impl_),
                [log = impl_->log](std::exception_ptr error) {
                  if (error)
                    log->error("the metrics listener ended unexpectedly; /metrics is no longer served");
                });
}

void metrics_server::stop() {
  net::post(impl_->acceptor.get_executor(), [state = impl_] {
    if (state->stopped) return;
    state->stopped = true;
    beast::error_code ignored;
    state->acceptor.close(ignored);
    for (auto* connection : state->connections) connection->socket().close(ignored);
  });
}

}  // namespace regtrace::proxy
