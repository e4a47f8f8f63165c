// The in-process upstream of the integration tests: synchronous Beast, one thread per connection.
#include "tests/support/loopback_listener.hpp"
#include "tests/support/test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <nlohmann/json.hpp>

#include <variant>

namespace regtrace::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct fake_upstream::state {
  std::optional<net::ssl::context> tls;
  std::atomic<std::size_t> requests{0};
  std::mutex mutex;
  std::vector<std::string> last_header_names;
  std::unique_ptr<loopback_listener> listener;  // reset first on destruction: it joins the threads
};

namespace {

template <class Stream>
void write_pattern_body(Stream& stream, http::response<http::buffer_body>& response, std::uint64_t offset,
                        std::uint64_t size, beast::error_code& ec) {
  http::response_serializer<http::buffer_body> serializer{response};
  http::write_header(stream, serializer, ec);
  std::vector<char> chunk(64 * 1024);
  for (std::uint64_t done = 0; !ec && done < size;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - done));
    fill_pattern(offset + done, {chunk.data(), n});
    done += n;
    response.body().data = chunk.data();
    response.body().size = n;
    response.body().more = done < size;
    http::write(stream, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
  }
  if (!ec && !serializer.is_done()) {
    response.body().data = nullptr;
    response.body().size = 0;
    response.body().more = false;
    http::write(stream, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
  }
}

template <class Stream>
void write_string(Stream& stream, http::status status, std::string body, beast::error_code& ec,
                  std::vector<std::pair<std::string, std::string>> headers = {}, bool head = false) {
  http::response<http::string_body> response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set("Docker-Distribution-Api-Version", "registry/2.0");
  for (auto const& [name, value] : headers) response.set(name, value);
  response.body() = std::move(body);
  response.prepare_payload();
  if (head) {
    http::response_serializer<http::string_body> serializer{response};
    http::write_header(stream, serializer, ec);
  } else {
    http::write(stream, response, ec);
  }
}

// Serves requests on one connection until it closes. Returns when done.
template <class Stream>
void serve(Stream& stream, fake_upstream::state& state) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(stream, buffer, parser, ec);
    if (ec) return;
    ++state.requests;
    auto& request = parser.get();
    {
      std::lock_guard lock(state.mutex);
      state.last_header_names.clear();
      for (auto const& field : request) state.last_header_names.emplace_back(field.name_string());
    }
    // Read (and hash) whatever body came, before answering.
    sha256_stream hash;
    std::uint64_t body_bytes = 0;
    std::vector<char> chunk(64 * 1024);
    while (!parser.is_done()) {
      request.body().data = chunk.data();
      request.body().size = chunk.size();
      http::read(stream, buffer, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return;
      auto n = chunk.size() - request.body().size;
      hash.update({chunk.data(), n});
      body_bytes += n;
    }

    std::string target(request.target());
    bool head = request.method() == http::verb::head;
    if (target.starts_with("/blob/")) {
      std::uint64_t size = std::stoull(target.substr(6));
      std::uint64_t offset = 0;
      auto range = request[http::field::range];
      http::response<http::buffer_body> response{http::status::ok, 11};
      response.set(http::field::content_type, "application/octet-stream");
      if (range.starts_with("bytes=")) {
        offset = std::stoull(std::string(range.substr(6)));
        response.result(http::status::partial_content);
        response.set(http::field::content_range, "bytes " + std::to_string(offset) + "-" +
                                                     std::to_string(size - 1) + "/" + std::to_string(size));
      }
      response.content_length(size - offset);
      if (head) {
        http::response_serializer<http::buffer_body> serializer{response};
        http::write_header(stream, serializer, ec);
      } else {
        write_pattern_body(stream, response, offset, size - offset, ec);
      }
    } else if (target == "/upload") {
      nlohmann::json answer = {{"bytes", body_bytes}, {"sha256", hash.hex()}};
      write_string(stream, http::status::created, answer.dump(), ec);
    } else if (target == "/chunked") {
      http::response<http::buffer_body> response{http::status::ok, 11};
      response.set(http::field::content_type, "text/plain");
      response.chunked(true);
      http::response_serializer<http::buffer_body> serializer{response};
      http::write_header(stream, serializer, ec);
      for (int i = 0; i < 10 && !ec; ++i) {
        std::string piece = "chunk-" + std::to_string(i) + ";";
        response.body().data = piece.data();
        response.body().size = piece.size();
        response.body().more = true;
        http::write(stream, serializer, ec);
        if (ec == http::error::need_buffer) ec = {};
      }
      response.body().data = nullptr;
      response.body().size = 0;
      response.body().more = false;
      if (!ec) http::write(stream, serializer, ec);
    } else if (target == "/redirect") {
      write_string(stream, http::status::temporary_redirect, "", ec,
                   {{"Location", "https://storage.test/blob?sig=secret&se=2030"}});
    } else if (target == "/close-delimited") {
      std::string raw =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello, closed world";
      net::write(stream, net::buffer(raw), ec);
      return;
    } else if (target.starts_with("/stall/")) {
      // Promises N bytes, sends 100 KiB, then goes quiet until the peer gives up.
      std::uint64_t size = std::stoull(target.substr(7));
      http::response<http::buffer_body> response{http::status::ok, 11};
      response.set(http::field::content_type, "application/octet-stream");
      response.content_length(size);
      http::response_serializer<http::buffer_body> serializer{response};
      http::write_header(stream, serializer, ec);
      std::vector<char> part(100 * 1024);
      fill_pattern(0, {part.data(), part.size()});
      response.body().data = part.data();
      response.body().size = part.size();
      response.body().more = true;
      http::write(stream, serializer, ec);
      char byte;
      net::read(stream, net::buffer(&byte, 1), ec);  // returns when the proxy closes the connection
      return;
    } else if (target == "/silent") {
      char byte;
      net::read(stream, net::buffer(&byte, 1), ec);  // never answers
      return;
    } else if (target == "/headers") {
      nlohmann::json names = nlohmann::json::array();
      for (auto const& field : request) names.push_back(std::string(field.name_string()));
      write_string(stream, http::status::ok, names.dump(), ec);
    } else {
      write_string(stream, http::status::not_found,
                   R"({"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]})", ec, {}, head);
    }
    if (ec || !request.keep_alive()) return;
  }
}

}  // namespace

fake_upstream::fake_upstream(std::optional<test_pki> pki) : state_(std::make_shared<state>()) {
  if (pki) {
    state_->tls.emplace(net::ssl::context::tls_server);
    state_->tls->use_certificate_chain_file(pki->cert_file.string());
    state_->tls->use_private_key_file(pki->key_file.string(), net::ssl::context::pem);
  }
  state_->listener = std::make_unique<loopback_listener>([s = state_.get()](tcp::socket& socket) {
    if (s->tls) {
      beast::ssl_stream<tcp::socket&> stream(socket, *s->tls);
      beast::error_code ec;
      stream.handshake(net::ssl::stream_base::server, ec);
      if (!ec) serve(stream, *s);
      stream.shutdown(ec);  // close_notify, as real servers send it
    } else {
      serve(socket, *s);
    }
  });
  port_ = state_->listener->port();
}

fake_upstream::~fake_upstream() {
  state_->listener.reset();
}

std::size_t fake_upstream::connections() const {
  return state_->listener->connections();
}
std::size_t fake_upstream::requests() const {
  return state_->requests;
}

std::vector<std::string> fake_upstream::last_request_header_names() const {
  std::lock_guard lock(state_->mutex);
  return state_->last_header_names;
}

}  // namespace regtrace::test
