#pragma once
// One stream type for both legs, plain TCP or TLS over TCP, so the relay is compiled once instead of
// once per combination of client and upstream stream types (build time on 2 cores, STYLE habits).

#include "proxy/io/net.hpp"
#include "proxy/io/tls_stream.hpp"

#include <variant>

namespace regtrace::proxy {

/// An AsyncReadStream/AsyncWriteStream over either a tcp_stream or a TLS stream on one.
/// Like the streams it wraps, one read and one write may be outstanding at once, on one strand.
class any_stream {
 public:
  using plain_stream = beast::tcp_stream;
  using tls_stream = proxy::tls_stream;
  using executor_type = net::any_io_executor;

  explicit any_stream(plain_stream stream) : stream_(std::move(stream)) {}
  explicit any_stream(tls_stream stream) : stream_(std::move(stream)) {}

  executor_type get_executor() { return tcp().get_executor(); }

  /// The TCP layer: timeouts (expires_after) and the socket.
  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream_);
  }
  /// Replaces a plain stream by the TLS stream built on its TCP layer (after a CONNECT handshake).
  void become_tls(tls_stream stream) { stream_.template emplace<tls_stream>(std::move(stream)); }

  /// The TLS layer, or nullptr for a plain stream.
  tls_stream* tls() { return std::get_if<tls_stream>(&stream_); }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(MutableBufferSequence const& buffers, ReadToken&& token) {
    return initiate_on_stream(
        std::forward<ReadToken>(token), buffers,
        [](auto& s, auto const& b, auto handler) { s.async_read_some(b, std::move(handler)); });
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(ConstBufferSequence const& buffers, WriteToken&& token) {
    return initiate_on_stream(
        std::forward<WriteToken>(token), buffers,
        [](auto& s, auto const& b, auto handler) { s.async_write_some(b, std::move(handler)); });
  }

 private:
  // Starts `operation` (a read or a write) on whichever stream this holds.
  template <class Token, class BufferSequence, class Operation>
  auto initiate_on_stream(Token&& token, BufferSequence const& buffers, Operation operation) {
    return net::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this, operation](auto handler, BufferSequence const& b) {
          std::visit([&](auto& s) { operation(s, b, std::move(handler)); }, stream_);
        },
        token, buffers);
  }

  std::variant<plain_stream, tls_stream> stream_;
};

}  // namespace regtrace::proxy
