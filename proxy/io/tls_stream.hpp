#pragma once
// The TLS stream of both legs, made for bulk transfers (SPEC §7: a multi-GB layer at close to the
// speed of a direct connection).
//
// Asio's ssl::stream reads the socket one TLS record (16 KiB) at a time and wakes its caller once per
// record, through about a dozen handler hops; on a 1 GiB layer that, not the cryptography, was most of
// regtrace's CPU. This stream keeps the ciphertext in its own buffers, read from and written to the
// socket in pieces as large as the kernel has, and drives OpenSSL over them through a memory BIO: one
// wake-up decrypts every record that has arrived, one socket write sends every record a write made.
//
// Same contract as the stream it replaces, so the relay, the parsers and the failure records are
// unchanged: at most one read and one write outstanding; OpenSSL failures as error codes of Asio's
// ssl category (so tls::alert_from_error and friends read them), ssl::error::stream_truncated for a
// peer that closed without close_notify, net::error::eof after its close_notify; timeouts come from
// the beast::tcp_stream underneath (expires_after, as before).

#include "proxy/io/net.hpp"

#include <boost/asio/any_completion_handler.hpp>

#include <cstddef>
#include <memory>

namespace regtrace::proxy {

class tls_stream {
 public:
  using executor_type = net::any_io_executor;
  using next_layer_type = beast::tcp_stream;

  /// A TLS stream over next, its SSL object made from context (set it up through native_handle()).
  tls_stream(beast::tcp_stream next, net::ssl::context& context);
  tls_stream(tls_stream&&) noexcept;
  tls_stream& operator=(tls_stream&&) noexcept;
  ~tls_stream();

  executor_type get_executor();
  /// The TCP stream: timeouts (expires_after) and the socket. Beast's get_lowest_layer finds it.
  beast::tcp_stream& next_layer();
  /// The OpenSSL object: SNI, verification, certificates, and describing the session afterwards.
  SSL* native_handle();
  /// True when the peer's first bytes were an HTTP message ("HTTP/"), not TLS: a plain-HTTP server
  /// on the port (catalog A-17). Meaningful after a failed handshake.
  bool peer_spoke_plain_http() const;

  /// The handshake, as client or server. Completes with (error_code).
  template <class Token>
  auto async_handshake(net::ssl::stream_base::handshake_type type, Token&& token) {
    return net::async_initiate<Token, void(beast::error_code)>(
        [this](auto handler, net::ssl::stream_base::handshake_type t) {
          start_handshake(t, {}, handshake_handler(std::move(handler)));
        },
        token, type);
  }

  /// The handshake when some of the peer's first bytes were already read (behind a CONNECT).
  /// Completes with (error_code, bytes of `already_read` used): all of them, the rest of them being
  /// TLS records this stream keeps.
  template <class Token>
  auto async_handshake(net::ssl::stream_base::handshake_type type, net::const_buffer already_read,
                       Token&& token) {
    return net::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, net::ssl::stream_base::handshake_type t, net::const_buffer b) {
          start_handshake(t, b, io_handler(std::move(handler)));
        },
        token, type, already_read);
  }

  /// Sends close_notify. It does not wait for the peer's: HTTP clients close the connection instead.
  template <class Token>
  auto async_shutdown(Token&& token) {
    return net::async_initiate<Token, void(beast::error_code)>(
        [this](auto handler) { start_shutdown(handshake_handler(std::move(handler))); }, token);
  }

  /// Reads into the first non-empty buffer of the sequence as much as the records received so far
  /// hold, waiting for the socket only when none is complete.
  template <class MutableBufferSequence, class Token>
  auto async_read_some(MutableBufferSequence const& buffers, Token&& token) {
    return net::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, MutableBufferSequence const& b) {
          net::mutable_buffer into;
          for (auto it = net::buffer_sequence_begin(b); it != net::buffer_sequence_end(b) && into.size() == 0; ++it)
            into = *it;
          start_read(into, io_handler(std::move(handler)));
        },
        token, buffers);
  }

  /// Encrypts the buffers (up to max_write_bytes) at once and sends all their records in one write.
  template <class ConstBufferSequence, class Token>
  auto async_write_some(ConstBufferSequence const& buffers, Token&& token) {
    return net::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, ConstBufferSequence const& b) {
          beast::error_code ec;
          std::size_t taken = 0;
          for (auto it = net::buffer_sequence_begin(b);
               it != net::buffer_sequence_end(b) && !ec && taken < max_write_bytes; ++it)
            taken += encrypt(net::buffer(net::const_buffer(*it), max_write_bytes - taken), ec);
          start_write(taken, ec, io_handler(std::move(handler)));
        },
        token, buffers);
  }

  /// The socket, the SSL object and the ciphertext buffers (defined in tls_stream.cpp).
  struct state;

  /// Plaintext taken by one write: a relay chunk and its framing, with room to spare.
  static constexpr std::size_t max_write_bytes = 512 * 1024;

 private:
  using io_handler = net::any_completion_handler<void(beast::error_code, std::size_t)>;
  using handshake_handler = net::any_completion_handler<void(beast::error_code)>;

  void start_handshake(net::ssl::stream_base::handshake_type type, net::const_buffer already_read,
                       handshake_handler handler);
  void start_handshake(net::ssl::stream_base::handshake_type type, net::const_buffer already_read,
                       io_handler handler);
  void start_shutdown(handshake_handler handler);
  void start_read(net::mutable_buffer into, io_handler handler);
  void start_write(std::size_t taken, beast::error_code ec, io_handler handler);
  /// Encrypts plaintext into the pending ciphertext; returns the bytes taken (all, unless ec is set).
  std::size_t encrypt(net::const_buffer plaintext, beast::error_code& ec);

  std::unique_ptr<state> state_;  // on the heap: OpenSSL's BIO points at it, and moves must not move it
};

}  // namespace regtrace::proxy
