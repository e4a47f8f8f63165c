#pragma once
// The streaming relay of one message body (STYLE rule 6, after Beast's relay example): the parser
// fills one fixed chunk, the recorder sees it, the serializer writes it, repeat. Constant memory
// whatever the size; idle timeouts re-armed before every read and write (rule 7); never throws.

#include "capture/body_recorder.hpp"
#include "proxy/any_stream.hpp"

#include <chrono>
#include <span>

namespace regtrace::proxy {

/// How a relay ended: ok, or which side failed and with what.
struct relay_outcome {
  beast::error_code ec;
  bool source_failed = false;  ///< the reading side failed (else the writing side)
  explicit operator bool() const { return !ec; }
};

/// Writes the message header through the serializer.
template <bool IsRequest>
net::awaitable<relay_outcome> write_header(any_stream& sink, http::serializer<IsRequest, http::buffer_body>& serializer,
                                           std::chrono::seconds idle) {
  sink.tcp().expires_after(idle);
  auto [ec, n] = co_await http::async_write_header(sink, serializer, use_nothrow);
  co_return relay_outcome{ec, false};
}

/// Relays the body of a message whose header was read by parser and written by serializer.
/// These helpers are awaited directly by their caller, whose frame owns every referenced object.
template <bool IsRequest>
net::awaitable<relay_outcome> relay_body(any_stream& source, beast::flat_buffer& source_buffer,
                                         http::parser<IsRequest, http::buffer_body>& parser, any_stream& sink,
                                         http::serializer<IsRequest, http::buffer_body>& serializer,
                                         std::span<char> chunk, capture::body_recorder& recorder,
                                         std::chrono::seconds idle) {
  auto& body = parser.get().body();
  while (!parser.is_done()) {
    body.data = chunk.data();
    body.size = chunk.size();
    source.tcp().expires_after(idle);
    auto [read_ec, read_n] = co_await http::async_read(source, source_buffer, parser, use_nothrow);
    if (read_ec == http::error::need_buffer) read_ec = {};

    // Bytes that arrived before a failure are still the peer's bytes: pass them on first.
    auto filled = chunk.size() - body.size;
    if (filled > 0 || !read_ec) {
      recorder.observe({chunk.data(), filled});
      body.data = chunk.data();
      body.size = filled;
      body.more = !parser.is_done() || read_ec;
      sink.tcp().expires_after(idle);
      auto [write_ec, write_n] = co_await http::async_write(sink, serializer, use_nothrow);
      if (write_ec == http::error::need_buffer) write_ec = {};
      if (write_ec) co_return relay_outcome{write_ec, false};
    }
    if (read_ec) co_return relay_outcome{read_ec, true};
  }
  // The final empty write ends a chunked body ("0\r\n\r\n") or completes an empty one.
  if (!serializer.is_done()) {
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    sink.tcp().expires_after(idle);
    auto [write_ec, write_n] = co_await http::async_write(sink, serializer, use_nothrow);
    if (write_ec == http::error::need_buffer) write_ec = {};
    if (write_ec) co_return relay_outcome{write_ec, false};
  }
  co_return relay_outcome{};
}

}  // namespace regtrace::proxy
