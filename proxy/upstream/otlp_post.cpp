// One OTLP/HTTP export request on its own connection (a batch goes about once a second, so keeping
// the connection alive would save little), and --otlp-endpoint's parsing.
#include "proxy/upstream/otlp_post.hpp"

#include "capture/export/otlp_spans.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/url.hpp"
#include "proxy/config/connect_target.hpp"

#include <stdexcept>

namespace regtrace::proxy {
namespace {

// Collector answers are small (an ExportTraceServiceResponse or an error text): more is not read.
constexpr std::uint64_t max_answer_bytes = 64 * 1024;

// Retry-After as delay-seconds (RFC 9110 §10.2.3); the HTTP-date form falls back to the backoff.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  value = capture::trim_ows(value);
  if (value.empty() || value.size() > 9) return std::nullopt;
  long seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::seconds(seconds);
}

http::request<http::string_body> make_request(otlp_endpoint const& endpoint, std::string const& body) {
  http::request<http::string_body> request{http::verb::post, endpoint.path, 11};
  request.set(http::field::host, format_authority({endpoint.host, endpoint.port}));
  request.set(http::field::content_type, "application/x-protobuf");
  request.set(http::field::user_agent, "regtrace/" REGTRACE_VERSION);
  request.body() = body;
  request.prepare_payload();
  return request;
}

}  // namespace

otlp_endpoint parse_otlp_endpoint(std::string_view url) {
  constexpr std::string_view usage = " (expected http://HOST:PORT[/PATH], for example http://127.0.0.1:4318)";
  auto const pieces = capture::split_url(url);
  if (!pieces) throw std::invalid_argument("--otlp-endpoint needs a URL" + std::string(usage));
  if (pieces->scheme == "https")
    throw std::invalid_argument(
        "--otlp-endpoint supports only http://: run an OpenTelemetry Collector on this machine or next to it "
        "(its OTLP/HTTP receiver listens on 4318) and let it forward over TLS" +
        std::string(usage));
  if (pieces->scheme != "http")
    throw std::invalid_argument("--otlp-endpoint takes an http:// URL, not " + pieces->scheme + "://" +
                                std::string(usage));
  if (pieces->has_userinfo || pieces->target.find_first_of("?#") != std::string::npos)
    throw std::invalid_argument("--otlp-endpoint takes no user, password or query" + std::string(usage));
  auto const where = parse_connect_authority(pieces->authority);
  if (!where)
    throw std::invalid_argument("--otlp-endpoint: \"" + pieces->authority +
                                "\" is not HOST:PORT; add the collector's port (OTLP/HTTP uses 4318)" +
                                std::string(usage));
  otlp_endpoint endpoint{.host = where->host, .port = where->port};
  if (pieces->target != "/") endpoint.path = pieces->target;
  return endpoint;
}

std::string display_url(otlp_endpoint const& endpoint) {
  return "http://" + format_authority({endpoint.host, endpoint.port}) + endpoint.path;
}

std::string describe(post_outcome const& outcome) {
  if (outcome.status) return "HTTP " + std::to_string(outcome.status);
  return std::string(outcome.step) + ": " + outcome.ec.message();
}

net::awaitable<post_outcome> post_spans(otlp_endpoint endpoint, std::shared_ptr<std::string const> body,
                                        std::chrono::milliseconds timeout) {
  post_outcome out;
  auto executor = co_await net::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_ec, addresses] =
      co_await resolver.async_resolve(endpoint.host, std::to_string(endpoint.port), use_nothrow);
  if (resolve_ec) co_return post_outcome{.ec = resolve_ec, .step = "resolve"};
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  auto [connect_ec, connected] = co_await stream.async_connect(addresses, use_nothrow);
  if (connect_ec) co_return post_outcome{.ec = connect_ec, .step = "connect"};
  auto request = make_request(endpoint, *body);
  stream.expires_after(timeout);
  auto [write_ec, written] = co_await http::async_write(stream, request, use_nothrow);
  if (write_ec) co_return post_outcome{.ec = write_ec, .step = "write"};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(max_answer_bytes);
  stream.expires_after(timeout);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_nothrow);
  if (read_ec) co_return post_outcome{.ec = read_ec, .step = "read"};
  auto const& answer = parser.get();
  out.status = static_cast<int>(answer.result_int());
  if (auto const field = answer.find(http::field::retry_after); field != answer.end())
    out.retry_after = parse_retry_after(field->value());
  if (out.status >= 200 && out.status < 300)
    out.rejected_spans = capture::otlp::rejected_spans(answer.body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return out;
}

}  // namespace regtrace::proxy
