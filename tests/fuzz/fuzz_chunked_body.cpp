// Message bodies through the relay (proxy/io/body_relay.hpp relay_body, on the proxy's parsers:
// apply_limits for requests, body_limit(none) and the header bound for responses): a fixed head,
// then fuzz-chosen body bytes — chunked (chunk sizes, extensions, trailers, anything malformed) or
// Content-Length — read in fuzz-sized pieces into one fixed chunk, each piece shown to the body
// recorder and written on through the serializer, as relay_body does, without sockets. Properties:
// what the relay wrote, read again, is the body it parsed, byte for byte, when the body was whole;
// the recorder counted and hashed exactly the bytes relayed.

#include "capture/body/body_recorder.hpp"
#include "proxy/session/exchange_relay.hpp"
#include "tests/fuzz/fuzz_streams.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;
namespace http = proxy::http;

constexpr std::string_view request_head =
    "PATCH /v2/app/blobs/uploads/4f2c HTTP/1.1\r\nHost: registry.test\r\nContent-Type: application/json\r\n";
constexpr std::string_view response_head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";

template <bool IsRequest>
void relay(std::string_view wire, std::vector<std::size_t> pieces, std::size_t chunk_size) {
  proxy::proxy_config const config;
  piecewise_source source(wire, std::move(pieces));
  beast::flat_buffer buffer;
  http::parser<IsRequest, http::buffer_body> parser;
  if constexpr (IsRequest) {
    proxy::apply_limits(parser, config);
  } else {
    parser.body_limit(boost::none);
    parser.header_limit(static_cast<std::uint32_t>(config.header_limit_bytes));
  }
  beast::error_code ec;
  http::read_header(source, buffer, parser, ec);
  if (ec) return;

  string_sink sink;
  http::serializer<IsRequest, http::buffer_body> serializer(parser.get());
  http::write_header(sink, serializer, ec);
  require(!ec, "the head is written");
  std::vector<char> chunk(chunk_size);
  capture::body_recorder recorder(true, 1024 * 1024);
  std::string relayed;
  auto& body = parser.get().body();
  beast::error_code read_ec;
  while (!parser.is_done()) {
    body.data = chunk.data();
    body.size = chunk.size();
    http::read(source, buffer, parser, read_ec);
    if (read_ec == http::error::need_buffer) read_ec = {};
    auto const filled = chunk.size() - body.size;
    if (filled > 0 || !read_ec) {
      recorder.observe({chunk.data(), filled});
      relayed.append(chunk.data(), filled);
      body.data = chunk.data();
      body.size = filled;
      body.more = !parser.is_done() || read_ec;
      http::write(sink, serializer, ec);
      if (ec == http::error::need_buffer) ec = {};
      require(!ec, "a body piece is written");
    }
    if (read_ec) break;
  }
  auto const record = recorder.finish(!read_ec);
  require(record.bytes == relayed.size(), "the recorder counts every relayed byte");
  require(relayed.empty() || record.sha256 == capture::sha256_hex(relayed),
          "the recorder hashes the relayed bytes");
  if (read_ec) return;  // cut short: the peer sees the cut too
  if (!serializer.is_done()) {
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    http::write(sink, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
    require(!ec, "the body's end is written");
  }

  http::parser<IsRequest, http::string_body> reread;
  reread.body_limit(boost::none);
  reread.header_limit(std::numeric_limits<std::uint32_t>::max());
  piecewise_source written(sink.written, {});
  beast::flat_buffer reread_buffer;
  http::read(written, reread_buffer, reread, ec);
  require(!ec && reread.is_done(), "what the relay wrote is a whole message");
  require_equal(reread.get().body(), relayed, "what the relay wrote is the body it parsed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  bool const is_request = in.ConsumeBool();
  bool const chunked = in.ConsumeIntegralInRange(0, 3) != 0;
  std::vector<std::size_t> pieces(in.ConsumeIntegralInRange(1, 4));
  for (auto& piece : pieces) piece = in.ConsumeIntegralInRange<std::size_t>(1, 64);
  auto const chunk_size = in.ConsumeIntegralInRange<std::size_t>(1, 256);
  auto const body = in.ConsumeRemainingBytesAsString();

  std::string wire(is_request ? request_head : response_head);
  wire += chunked ? "Transfer-Encoding: chunked\r\n\r\n"
                  : "Content-Length: " + std::to_string(body.size() / 2) + "\r\n\r\n";
  wire += body;
  exact_bytes const input(wire);
  if (is_request)
    relay<true>(input.view(), std::move(pieces), chunk_size);
  else
    relay<false>(input.view(), std::move(pieces), chunk_size);
  return 0;
}
