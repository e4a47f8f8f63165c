// The integration tests' client: plain TCP to the proxy, CONNECT, then TLS; synchronous Beast.
#include "tests/support/test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>

namespace regtrace::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct proxy_client::state {
  net::io_context io;
  tcp::socket socket{io};
  net::ssl::context tls_context{net::ssl::context::tls_client};
  std::optional<beast::ssl_stream<tcp::socket&>> tls;
  beast::flat_buffer buffer;
};

namespace {

template <class Stream>
void write_request(Stream& stream, std::string const& method, std::string const& target,
                   std::vector<std::pair<std::string, std::string>> const& headers,
                   std::uint64_t upload_bytes, bool chunked_upload, std::string_view text = {}) {
  http::request<http::buffer_body> request{http::string_to_verb(method), target, 11};
  for (auto const& [name, value] : headers) request.set(name, value);
  if (!request.count(http::field::host)) request.set(http::field::host, "registry.test");
  if (upload_bytes > 0 && chunked_upload)
    request.chunked(true);
  else if (upload_bytes > 0 || method == "PUT" || method == "POST" || !text.empty())
    request.content_length(text.empty() ? upload_bytes : text.size());

  beast::error_code ec;
  http::request_serializer<http::buffer_body> serializer{request};
  http::write_header(stream, serializer, ec);
  if (ec) throw beast::system_error(ec, "writing the request header");
  if (!text.empty()) {
    request.body().data = const_cast<char*>(text.data());  // buffer_body reads through a void*
    request.body().size = text.size();
    request.body().more = false;
    http::write(stream, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec, "writing the request body");
  }
  std::vector<char> chunk(64 * 1024);
  for (std::uint64_t done = 0; done < upload_bytes;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), upload_bytes - done));
    fill_pattern(done, {chunk.data(), n});
    done += n;
    request.body().data = chunk.data();
    request.body().size = n;
    request.body().more = done < upload_bytes;
    http::write(stream, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec, "writing the request body");
  }
  if (!serializer.is_done()) {
    request.body().data = nullptr;
    request.body().size = 0;
    request.body().more = false;
    http::write(stream, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
  }
}

template <class Stream>
client_response read_response(Stream& stream, beast::flat_buffer& buffer, std::string const& method) {
  std::vector<char> chunk(64 * 1024);
  beast::error_code ec;

  // Interim (1xx) answers come first when there are any; the test wants the final one.
  std::optional<http::response_parser<http::buffer_body>> interim_or_final;
  do {
    interim_or_final.emplace();
    interim_or_final->body_limit(boost::none);
    if (method == "HEAD") interim_or_final->skip(true);
    http::read_header(stream, buffer, *interim_or_final, ec);
    if (ec) throw beast::system_error(ec, "reading the response header");
  } while (interim_or_final->get().result_int() / 100 == 1);
  auto& parser = *interim_or_final;
  client_response response;
  response.status = parser.get().result_int();
  for (auto const& field : parser.get()) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    response.headers[name] = std::string(field.value());
  }
  sha256_stream hash;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec, "reading the response body");
    auto n = chunk.size() - parser.get().body().size;
    hash.update({chunk.data(), n});
    if (response.body.size() + n <= (1u << 20)) response.body.append(chunk.data(), n);
    response.body_bytes += n;
  }
  response.body_sha256 = hash.hex();
  response.keep_alive = parser.get().keep_alive();
  return response;
}

template <class Stream>
client_response exchange(Stream& stream, beast::flat_buffer& buffer, std::string const& method,
                         std::string const& target,
                         std::vector<std::pair<std::string, std::string>> const& headers,
                         std::uint64_t upload_bytes, bool chunked_upload, std::string_view text = {}) {
  write_request(stream, method, target, headers, upload_bytes, chunked_upload, text);
  return read_response(stream, buffer, method);
}

}  // namespace

proxy_client::proxy_client(std::uint16_t proxy_port) : state_(std::make_unique<state>()) {
  state_->socket.connect({net::ip::make_address("127.0.0.1"), proxy_port});
  state_->socket.set_option(tcp::no_delay(true));
}

proxy_client::~proxy_client() = default;

int proxy_client::send_connect(std::string const& authority, std::string const& extra_headers) {
  std::string request =
      "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n" + extra_headers + "\r\n";
  net::write(state_->socket, net::buffer(request));
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a 2xx answer to CONNECT has no body; the tunnel follows
  beast::error_code ec;
  http::read_header(state_->socket, state_->buffer, parser, ec);
  if (ec) throw beast::system_error(ec, "reading the CONNECT answer");
  return parser.get().result_int();
}

std::string proxy_client::handshake(std::string const& sni, std::filesystem::path const& trust_ca,
                                    bool legacy_tls_only) {
  if (legacy_tls_only) {
    // An old client library: TLS 1.0/1.1 only, which OpenSSL 3 allows at security level 0 alone.
    SSL_CTX_set_min_proto_version(state_->tls_context.native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(state_->tls_context.native_handle(), TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(state_->tls_context.native_handle(), "DEFAULT:@SECLEVEL=0");
  }
  state_->tls_context.set_verify_mode(net::ssl::verify_peer);
  if (!trust_ca.empty()) state_->tls_context.load_verify_file(trust_ca.string());
  state_->tls.emplace(state_->socket, state_->tls_context);
  SSL_set_tlsext_host_name(state_->tls->native_handle(), sni.c_str());
  SSL_set1_host(state_->tls->native_handle(), sni.c_str());
  beast::error_code ec;
  state_->tls->handshake(net::ssl::stream_base::client, ec);
  return ec ? ec.message() : std::string{};
}

client_response proxy_client::request(std::string const& method, std::string const& target,
                                      std::vector<std::pair<std::string, std::string>> const& headers,
                                      std::uint64_t upload_bytes, bool chunked_upload) {
  if (state_->tls)
    return exchange(*state_->tls, state_->buffer, method, target, headers, upload_bytes, chunked_upload);
  return exchange(state_->socket, state_->buffer, method, target, headers, upload_bytes, chunked_upload);
}

client_response proxy_client::request_text(std::string const& method, std::string const& target,
                                           std::vector<std::pair<std::string, std::string>> const& headers,
                                           std::string const& body) {
  if (state_->tls) return exchange(*state_->tls, state_->buffer, method, target, headers, 0, false, body);
  return exchange(state_->socket, state_->buffer, method, target, headers, 0, false, body);
}

void proxy_client::send_only(std::string const& method, std::string const& target,
                             std::vector<std::pair<std::string, std::string>> const& headers) {
  if (state_->tls)
    write_request(*state_->tls, method, target, headers, 0, false);
  else
    write_request(state_->socket, method, target, headers, 0, false);
}

client_response proxy_client::receive(std::string const& method) {
  if (state_->tls) return read_response(*state_->tls, state_->buffer, method);
  return read_response(state_->socket, state_->buffer, method);
}

void proxy_client::send_raw(std::string const& bytes) {
  net::write(state_->socket, net::buffer(bytes));
}

std::string proxy_client::read_head() {
  // A byte at a time: nothing past the head is taken, whatever the stream (plain or TLS).
  std::string head;
  char byte = 0;
  while (!head.ends_with("\r\n\r\n")) {
    if (state_->tls)
      net::read(*state_->tls, net::buffer(&byte, 1));
    else
      net::read(state_->socket, net::buffer(&byte, 1));
    head += byte;
  }
  return head;
}

std::string proxy_client::raw_exchange(std::string const& bytes) {
  beast::error_code ec;
  net::write(state_->socket, net::buffer(bytes), ec);
  std::string answer;
  char buffer[4096];
  for (;;) {
    auto n = state_->socket.read_some(net::buffer(buffer), ec);
    answer.append(buffer, n);
    if (ec) break;
  }
  return answer;
}

}  // namespace regtrace::test
