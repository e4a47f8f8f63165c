#include "proxy/session/exchange_relay.hpp"

#include "capture/body/body_recorder.hpp"
#include "capture/registry/classifier.hpp"
#include "proxy/io/http_fields.hpp"
#include "proxy/io/body_relay.hpp"
#include "proxy/io/timing.hpp"
#include "proxy/config/upstream_proxy.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/write.hpp>

namespace regtrace::proxy {
namespace {

using response_parser = http::response_parser<http::buffer_body>;

// Reads one response header from the upstream into a fresh parser.
net::awaitable<beast::error_code> read_response_head(upstream_connection& upstream,
                                                     std::optional<response_parser>& parser, bool is_head,
                                                     proxy_config const& config) {
  parser.emplace();
  parser->body_limit(boost::none);
  parser->header_limit(static_cast<std::uint32_t>(config.header_limit_bytes));
  if (is_head) parser->skip(true);  // a response to HEAD has no body whatever its Content-Length says
  upstream.stream.tcp().expires_after(config.idle_timeout);
  auto [ec, n] = co_await http::async_read_header(upstream.stream, upstream.buffer, *parser, use_nothrow);
  co_return ec;
}

// Relays an interim (1xx) response header to the client (RFC 9110 §15.2).
net::awaitable<relay_outcome> forward_interim(client_side& client, response_parser& parser,
                                              std::chrono::seconds idle) {
  strip_hop_by_hop(parser.get());
  http::response_serializer<http::buffer_body> serializer{parser.get()};
  co_return co_await write_header(client.stream, serializer, idle);
}

bool is_content(capture::registry::request_kind kind) {
  using capture::registry::request_kind;
  return kind == request_kind::blob || kind == request_kind::manifest || kind == request_kind::storage;
}

bool is_timeout(beast::error_code const& ec) {
  return ec == beast::error::timeout;
}

// Long transfers are reported about once a second (SPEC §2) to whoever listens (the console).
progress_callback progress_of(capture::exchange const& record, boost::optional<std::uint64_t> total,
                              proxy_context const& context) {
  if (!context.on_progress) return {};
  return [&record, &report = context.on_progress, total = total.value_or(0), started = steady_clock::now()](
             std::uint64_t bytes) {
    report(record, {bytes, total, std::chrono::duration<double>(steady_clock::now() - started).count()});
  };
}

// Records why the exchange failed and, nothing having been relayed to the client yet, answers it
// with 502 or 504 naming the phase (SPEC §3).
net::awaitable<void> answer_upstream_failure(client_side& client, capture::exchange& record,
                                             capture::phase where, beast::error_code ec, std::string doing,
                                             std::string sentence, proxy_config const& config) {
  record.failure = capture::make_failure(where, ec, std::move(doing));
  co_await respond_generated(client, record, status_for_upstream_failure(is_timeout(ec)),
                             sentence + ": " + ec.message(), config);
}

}  // namespace

http::status status_for_upstream_failure(bool timed_out) {
  return timed_out ? http::status::gateway_timeout : http::status::bad_gateway;
}

void apply_limits(request_parser& parser, proxy_config const& config) {
  parser.body_limit(boost::none);  // layers are gigabytes; they stream (STYLE rule 6)
  parser.header_limit(static_cast<std::uint32_t>(config.header_limit_bytes));
}

void record_request(capture::exchange& record, request_parser const& parser) {
  auto const& message = parser.get();
  record.method = std::string(message.method_string());
  record.target = std::string(message.target());
  record.http_version = version_text(message.version());
  record.request_headers = header_list_of(message);
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
  record.status = static_cast<int>(status);
  record.reason = std::string(response.reason());
  record.response_http_version = "HTTP/1.1";
  record.response_headers = header_list_of(response);
  capture::body_recorder recorder(true, config.body_limit_bytes);
  recorder.observe(response.body());
  record.response_body = recorder.finish(true);

  client.stream.tcp().expires_after(config.idle_timeout);
  auto [ec, n] = co_await http::async_write(client.stream, response, use_nothrow);
  if (ec && !record.failure)
    record.failure = capture::make_failure(capture::phase::response_relay, ec, "writing regtrace's answer");
}

net::awaitable<bool> relay_exchange(client_side& client, request_parser& request, upstream_target target,
                                    capture::exchange& record, proxy_context& context,
                                    std::span<char> chunk) {
  auto const& config = context.config;
  auto const idle = config.idle_timeout;
  auto& message = request.get();
  bool const client_keep_alive = message.keep_alive();
  bool const request_has_body = !request.is_done();
  bool const is_head = message.method() == http::verb::head;
  bool const expect_continue =
      request_has_body && capture::iequals(message[http::field::expect], "100-continue");
  capture::body_recorder request_recorder(keeps_text(message), config.body_limit_bytes);
  strip_hop_by_hop(message);
  if (expect_continue) message.erase(http::field::expect);
  message.erase(http::field::proxy_authorization);  // addressed to regtrace, never forwarded (catalog §7.4)
  record.insecure_upstream = config.insecure_upstream && target.scheme == "https";
  record.upstream_proxy = display_url(config.upstream_proxy);

  std::unique_ptr<upstream_connection> upstream;
  std::optional<http::request_serializer<http::buffer_body>> serializer;
  std::optional<response_parser> response;
  auto send_started = steady_clock::now();
  auto header_sent = send_started;  // a request without a body waits for its answer from here

  auto fail_upstream = [&](capture::phase where, beast::error_code ec, std::string doing,
                           capture::failing_peer peer = capture::failing_peer::unknown) {
    record.failure = capture::make_failure(where, ec, std::move(doing), peer);
  };

  // A pooled connection may have been closed by the registry just as we reused it. A request without
  // a body that got no response byte is safe to send once more on a fresh connection (RFC 9110 §9.2.2).
  for (int attempt = 0;; ++attempt) {
    upstream = attempt == 0 ? client.pool->take(target) : nullptr;
    record.upstream_reused = upstream != nullptr;
    bool const may_retry = record.upstream_reused && !request_has_body;
    if (upstream) {
      record.timings.dns = record.timings.connect = record.timings.ssl = -1;
    } else {
      auto opened = co_await open_upstream(target, config, context.upstream_tls, ++context.next_upstream_id);
      if (!record_connection_attempt(record, opened)) {
        record.request_body = request_recorder.finish(!request_has_body);
        co_await respond_generated(client, record, status_for_upstream_failure(opened.timed_out),
                                   record.failure->detail + ": " + record.failure->message, config);
        co_return false;
      }
      upstream = std::move(opened.connection);
    }
    record.upstream_connection_id = upstream->id;
    record.server_ip = upstream->server_ip;
    record.upstream_tls = upstream->tls;

    send_started = steady_clock::now();
    serializer.emplace(message);
    auto written = co_await write_header(upstream->stream, *serializer, idle);
    if (!written) {
      if (may_retry) continue;
      record.request_body = request_recorder.finish(!request_has_body);
      co_await answer_upstream_failure(client, record, capture::phase::request_relay, written.ec,
                                       "sending the request header upstream",
                                       "the upstream connection failed while sending the request", config);
      co_return false;
    }
    if (request_has_body) break;
    header_sent = steady_clock::now();
    if (auto ec = co_await read_response_head(*upstream, response, is_head, config)) {
      if (may_retry) continue;
      record.request_body = request_recorder.finish(true);
      record.timings.send = ms_between(send_started, header_sent);
      record.timings.wait = ms_between(header_sent, steady_clock::now());
      co_await answer_upstream_failure(client, record, capture::phase::response_relay, ec,
                                       "waiting for the response header", "the upstream did not answer",
                                       config);
      co_return false;
    }
    break;
  }

  // Expect: 100-continue (RFC 9110 §10.1.1): the client waits for a 100 before sending the body. Not
  // every upstream sends one, and waiting on it could stall the exchange, so regtrace answers it
  // itself once the upstream leg is ready (as nginx does); Expect was not forwarded.
  bool body_refused = false;
  if (expect_continue) {
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    client.stream.tcp().expires_after(idle);
    auto [ec, n] = co_await net::async_write(client.stream, net::buffer(go_on), use_nothrow);
    if (ec) {
      fail_upstream(capture::phase::request_relay, ec, "sending 100 Continue to the client",
                    capture::failing_peer::client);
      record.request_body = request_recorder.finish(false);
      co_return false;
    }
  }

  if (request_has_body && !body_refused) {
    auto const progress = progress_of(record, request.content_length(), context);
    auto sent = co_await relay_body<true>(client.stream, client.buffer, request, upstream->stream,
                                          *serializer, chunk, request_recorder, idle, progress);
    record.request_body = request_recorder.finish(static_cast<bool>(sent));
    if (!sent) {
      record.timings.send = ms_between(send_started, steady_clock::now());
      if (sent.source_failed) {
        fail_upstream(capture::phase::request_relay, sent.ec, "reading the request body from the client",
                      capture::failing_peer::client);
        co_return false;
      }
      // The upstream stopped taking the body: it may have answered first (413 at an ingress, A-13).
      fail_upstream(capture::phase::request_relay, sent.ec, "sending the request body upstream",
                    capture::failing_peer::upstream);
      if (co_await read_response_head(*upstream, response, is_head, config)) {
        co_await respond_generated(client, record, status_for_upstream_failure(is_timeout(sent.ec)),
                                   "the upstream stopped accepting the request body: " + sent.ec.message(),
                                   config);
        co_return false;
      }
      body_refused = true;
    }
  } else {
    record.request_body = request_recorder.finish(!request_has_body);
  }
  // HAR send ends when the request is out: for a request without a body, the answer's header was
  // already read above, so waiting counts from the header write, not from here.
  auto wait_started = request_has_body ? steady_clock::now() : header_sent;
  record.timings.send = ms_between(send_started, wait_started);

  // The final response, relaying any interim ones before it.
  for (;;) {
    if (!response) {
      if (auto ec = co_await read_response_head(*upstream, response, is_head, config)) {
        record.timings.wait = ms_between(wait_started, steady_clock::now());
        co_await answer_upstream_failure(client, record, capture::phase::response_relay, ec,
                                         "waiting for the response header", "the upstream did not answer",
                                         config);
        co_return false;
      }
    }
    int const code = response->get().result_int();
    if (code / 100 != 1 || code == 101) break;
    if (!co_await forward_interim(client, *response, idle)) co_return false;
    response.reset();
  }

  auto receive_started = steady_clock::now();
  record.timings.wait = ms_between(wait_started, receive_started);
  auto& answer = response->get();
  record.status = answer.result_int();
  record.reason = std::string(answer.reason());
  record.response_http_version = version_text(answer.version());
  record.response_headers = header_list_of(answer);

  if (record.status == 101) {
    // Registries never switch protocols; relaying an upgraded stream is out of scope.
    fail_upstream(capture::phase::response_relay, capture::errc::unsupported_upgrade,
                  "101 Switching Protocols", capture::failing_peer::upstream);
    co_await respond_generated(client, record, http::status::bad_gateway,
                               "regtrace does not relay protocol upgrades", config);
    co_return false;
  }

  bool const no_body = is_head || record.status == 204 || record.status == 304;
  bool const upstream_keep_alive = answer.keep_alive();
  bool const close_delimited = !no_body && !answer.has_content_length() && !answer.chunked();
  bool const keep_client = client_keep_alive && !close_delimited && !body_refused;
  capture::body_recorder response_recorder(keeps_text(answer), config.body_limit_bytes);
  // --store-bodies: whole blob and manifest bodies only (a 206 is a piece, not content with a digest;
  // a token answer is a secret that redaction keeps out of the trace, and out of the store too).
  if (context.bodies && !no_body && record.status == 200 && record.method == "GET" &&
      is_content(capture::registry::classify(record.method, record.host, record.target).kind))
    response_recorder.store_into(context.bodies->begin());
  strip_hop_by_hop(answer);
  answer.keep_alive(keep_client);

  http::response_serializer<http::buffer_body> out{answer};
  auto relayed = co_await write_header(client.stream, out, idle);
  auto const progress = progress_of(record, response->content_length(), context);
  if (relayed && !no_body)
    relayed = co_await relay_body<false>(upstream->stream, upstream->buffer, *response, client.stream, out,
                                         chunk, response_recorder, idle, progress);
  record.response_body = response_recorder.finish(static_cast<bool>(relayed));
  record.timings.receive = ms_between(receive_started, steady_clock::now());
  if (!relayed) {
    if (relayed.source_failed) client.clean_end = false;
    fail_upstream(capture::phase::response_relay, relayed.ec,
                  relayed.source_failed ? "reading the response body from the upstream"
                                        : "writing the response to the client",
                  relayed.source_failed ? capture::failing_peer::upstream : capture::failing_peer::client);
    co_return false;
  }
  if (upstream_keep_alive && !close_delimited && !body_refused && response->is_done())
    client.pool->give_back(target, std::move(upstream));
  co_return keep_client;
}

}  // namespace regtrace::proxy
