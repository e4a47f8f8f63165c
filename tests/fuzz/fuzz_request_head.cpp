// What the proxy does with the bytes a client sends (proxy/session/client_session.cpp, serve_client):
// Beast's request parser with regtrace's limits (apply_limits; the header bound is fuzz-chosen too),
// fed in reads of fuzz-chosen sizes; record_request; CONNECT's authority or the absolute-form target
// parsed as route_request does; the head written upstream after prepare_request's hop-by-hop strip;
// the body read into one fixed chunk as read_body does; then the next request on the connection.
// Properties: what is recorded is what the parser read, and holds no CR, LF or NUL (a header that
// could split the trace or the upstream request); the head the relay writes parses back to the same
// request; a body never counts more bytes than arrived, and exactly Content-Length when complete.

#include "proxy/config/connect_target.hpp"
#include "proxy/io/http_fields.hpp"
#include "proxy/session/exchange_relay.hpp"
#include "proxy/session/generated_response.hpp"
#include "tests/fuzz/fuzz_streams.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;
namespace http = proxy::http;

bool clean(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The head as the relay writes it upstream, read back by a fresh parser.
void check_relayed_head(proxy::request_parser& parser) {
  auto& message = parser.get();
  proxy::strip_hop_by_hop(message);
  message.erase(http::field::proxy_authorization);
  string_sink upstream;
  http::request_serializer<http::buffer_body> serializer(message);
  beast::error_code ec;
  http::write_header(upstream, serializer, ec);
  require(!ec, "the relay writes the head");

  http::request_parser<http::empty_body> reread;
  reread.body_limit(boost::none);  // only the head is read back; the body may be any size
  reread.header_limit(std::numeric_limits<std::uint32_t>::max());
  reread.eager(false);
  beast::flat_buffer buffer;
  piecewise_source source(upstream.written, {});
  http::read_header(source, buffer, reread, ec);
  require(!ec, "the head the relay writes parses");
  require_equal(reread.get().method_string(), message.method_string(), "the relayed method is the client's");
  require_equal(reread.get().target(), message.target(), "the relayed target is the client's");
  require(std::ranges::equal(reread.get(), message,
                             [](auto const& a, auto const& b) {
                               return a.name_string() == b.name_string() && a.value() == b.value();
                             }),
          "the relayed header fields are the client's, in order");
}

// Reads the body as read_body does (one fixed chunk, need_buffer between pieces). False: the
// connection ends here.
bool read_body(piecewise_source& client, beast::flat_buffer& buffer, proxy::request_parser& parser,
               std::vector<char>& chunk, std::size_t arrived) {
  capture::body_recorder recorder(proxy::keeps_text(parser.get()), 64 * 1024);
  std::uint64_t bytes = 0;
  beast::error_code ec;
  auto& body = parser.get().body();
  while (!parser.is_done()) {
    body.data = chunk.data();
    body.size = chunk.size();
    http::read(client, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    auto const filled = chunk.size() - body.size;
    recorder.observe({chunk.data(), filled});
    bytes += filled;
    if (ec) break;
  }
  auto const record = recorder.finish(!ec);
  require(record.bytes == bytes, "the recorder counts every body byte");
  require(bytes <= arrived, "a body never counts more bytes than arrived");
  if (!ec && parser.content_length())
    require(bytes == *parser.content_length(), "a complete body is Content-Length long");
  return !ec && parser.keep_alive();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  proxy::proxy_config config;
  if (in.ConsumeBool()) config.header_limit_bytes = in.ConsumeIntegralInRange<std::size_t>(16, 4096);
  std::vector<std::size_t> pieces(in.ConsumeIntegralInRange(1, 4));
  for (auto& piece : pieces) piece = in.ConsumeIntegralInRange<std::size_t>(1, 64);
  std::vector<char> chunk(in.ConsumeIntegralInRange<std::size_t>(1, 256));
  auto const wire_text = in.ConsumeRemainingBytesAsString();
  exact_bytes const wire(wire_text);

  piecewise_source client(wire.view(), pieces);
  beast::flat_buffer buffer;
  for (int request = 0; request < 4; ++request) {
    proxy::request_parser parser;
    proxy::apply_limits(parser, config);
    beast::error_code ec;
    http::read_header(client, buffer, parser, ec);
    if (ec) return 0;  // answered 400/408/431 (or a quiet close): the record keeps the excerpt

    capture::exchange record;
    proxy::record_request(record, parser);
    require(!record.method.empty() && record.method == parser.get().method_string(),
            "the method is recorded");
    require(record.target == parser.get().target() && clean(record.target) &&
                record.target.find(' ') == std::string::npos,
            "the target is recorded, whole and clean");
    for (auto const& [name, value] : record.request_headers)
      require(!name.empty() && clean(name) && clean(value),
              "a recorded header has a name and no CR, LF or NUL");

    if (parser.get().method() == http::verb::connect) {
      (void)proxy::parse_connect_authority(parser.get().target());
      return 0;  // TLS follows: another target's business
    }
    if (auto const absolute = proxy::parse_absolute_target(parser.get().target()))
      parser.get().target(absolute->origin_form);
    (void)proxy::expects_continue(parser);
    check_relayed_head(parser);
    if (!read_body(client, buffer, parser, chunk, wire_text.size())) return 0;
  }
  return 0;
}
