#include "proxy/session/generated_response.hpp"

#include "capture/body/body_recorder.hpp"
#include "proxy/io/http_fields.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/write.hpp>

namespace regtrace::proxy {

http::status status_for_upstream_failure(bool timed_out) {
  return timed_out ? http::status::gateway_timeout : http::status::bad_gateway;
}

net::awaitable<void> respond_generated(client_side& client, capture::exchange& record, http::status status,
                                       std::string message, proxy_config const& config,
                                       std::vector<capture::header_field> extra_headers) {
  nlohmann::json body = {{"regtrace", {{"error", message}, {"url", record.url()}}}};
  if (record.failure) body["regtrace"]["phase"] = std::string(capture::to_string(record.failure->where));
  http::response<http::string_body> response{status, 11};
  response.set(http::field::server, "regtrace");
  response.set(http::field::content_type, "application/json");
  for (auto const& header : extra_headers) response.set(header.name, header.value);
  response.keep_alive(false);
  response.body() = body.dump() + "\n";
  response.prepare_payload();

  record.generated_response = true;
  record_response_head(record, response);
  record.response_http_version = "HTTP/1.1";
  capture::body_recorder recorder(true, config.body_limit_bytes);
  recorder.observe(response.body());
  record.response_body = recorder.finish(true);

  client.stream.tcp().expires_after(config.idle_timeout);
  auto [ec, n] = co_await http::async_write(client.stream, response, use_nothrow);
  if (ec) record_undelivered(record, ec);
}

void record_undelivered(capture::exchange& record, beast::error_code const& ec) {
  // The entry says what the client received (SPEC §4): nothing. What regtrace meant to answer stays
  // in the failure, so the reader still sees it.
  std::string const meant =
      "regtrace's " + std::to_string(record.status) + " " + record.reason + " answer was not delivered: " + ec.message();
  record.generated_response = false;
  record.status = 0;
  record.reason.clear();
  record.response_headers.clear();
  record.response_body = {};
  if (record.failure)
    record.failure->detail += record.failure->detail.empty() ? meant : " (" + meant + ")";
  else
    record.failure = capture::make_failure(capture::phase::response_relay, ec, meant, capture::failing_peer::client);
}

bool expects_continue(request_parser const& request) {
  return !request.is_done() && capture::iequals(request.get()[http::field::expect], "100-continue");
}

net::awaitable<beast::error_code> send_continue(client_side& client, std::chrono::seconds idle) {
  static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
  client.stream.tcp().expires_after(idle);
  auto [ec, n] = co_await net::async_write(client.stream, net::buffer(go_on), use_nothrow);
  co_return ec;
}

}  // namespace regtrace::proxy
