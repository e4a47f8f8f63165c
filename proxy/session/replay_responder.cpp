#include "proxy/session/replay_responder.hpp"

#include "capture/body/body_recorder.hpp"
#include "capture/replay/matcher.hpp"
#include "proxy/io/http_fields.hpp"
#include "capture/replay/replay_source.hpp"
#include "proxy/io/timing.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>

namespace regtrace::proxy {
namespace {

// Framing is the replaying proxy's own business: the recorded values describe another connection.
bool is_framing(std::string_view name) {
  for (std::string_view framing : {"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Content-Length"})
    if (capture::iequals(name, framing)) return true;
  return false;
}

template <class Body>
net::awaitable<bool> send(client_side& client, http::response<Body>& response, capture::exchange& record,
                          std::string_view body_text, proxy_config const& config) {
  record.status = response.result_int();
  record.reason = std::string(response.reason());
  record.response_headers = header_list_of(response);
  capture::body_recorder recorder(keeps_text(response), config.body_limit_bytes);
  recorder.observe(body_text);
  client.stream.tcp().expires_after(config.idle_timeout);
  auto [ec, n] = co_await http::async_write(client.stream, response, use_nothrow);
  record.response_body = recorder.finish(!ec);
  if (ec) {
    record.failure = capture::make_failure(capture::phase::response_relay, ec, "writing the replayed answer");
    co_return false;
  }
  co_return response.keep_alive();
}

// A registry-style error (catalog §1 body shape), so clients print its message: "unknown: regtrace replay ...".
net::awaitable<bool> send_replay_error(client_side& client, capture::exchange& record, http::status status,
                                       capture::errc code, std::string message, bool keep_alive,
                                       proxy_config const& config) {
  record.failure = capture::make_failure(capture::phase::response_relay, code, message);
  record.generated_response = true;
  nlohmann::json body = {{"errors", {{{"code", "UNKNOWN"}, {"message", message}, {"detail", {{"replay", record.url()}}}}}}};
  http::response<http::string_body> response{status, 11};
  response.set(http::field::server, "regtrace-replay");
  response.set(http::field::content_type, "application/json");
  response.set("Docker-Distribution-Api-Version", "registry/2.0");
  response.body() = body.dump() + "\n";
  response.prepare_payload();
  response.keep_alive(keep_alive);
  co_return co_await send(client, response, record, response.body(), config);
}

// Streams a stored body (--store-bodies) in fixed chunks: layers are gigabytes (STYLE rule 6).
net::awaitable<bool> send_stored(client_side& client, http::response<http::buffer_body>& response,
                                 capture::exchange& record, std::filesystem::path const& file,
                                 std::span<char> chunk, proxy_config const& config) {
  record.status = response.result_int();
  record.reason = std::string(response.reason());
  record.response_headers = header_list_of(response);
  capture::body_recorder recorder(false, config.body_limit_bytes);
  auto fail = [&](beast::error_code ec, char const* doing) {
    record.response_body = recorder.finish(false);
    record.failure = capture::make_failure(capture::phase::response_relay, ec, doing);
    return false;
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) co_return fail(beast::error_code(errno, boost::system::generic_category()), "opening the stored body");
  http::response_serializer<http::buffer_body> out{response};
  client.stream.tcp().expires_after(config.idle_timeout);
  auto [header_ec, header_n] = co_await http::async_write_header(client.stream, out, use_nothrow);
  if (header_ec) co_return fail(header_ec, "writing the replayed answer");
  for (;;) {
    std::size_t const n = std::fread(chunk.data(), 1, chunk.size(), in.get());
    recorder.observe({chunk.data(), n});
    response.body().data = n ? chunk.data() : nullptr;
    response.body().size = n;
    response.body().more = n != 0;
    client.stream.tcp().expires_after(config.idle_timeout);
    auto [ec, written] = co_await http::async_write(client.stream, out, use_nothrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return fail(ec, "writing the replayed body");
    if (n == 0) break;
  }
  record.response_body = recorder.finish(true);
  co_return response.keep_alive();
}

// True when the upstream cut the recorded body short: the replay cuts it again.
bool cut_by_upstream(capture::exchange const& recorded) {
  return recorded.failure && recorded.failure->where == capture::phase::response_relay &&
         recorded.failure->peer == capture::failing_peer::upstream && !recorded.response_body.complete;
}

// Replays a cut: the recorded header, as many body bytes as the client got (the kept text, or zeros:
// a trace never holds binary bytes, and a cut body is never stored), then the connection closes
// without close_notify, so the client meets the same unexpected end as in the capture.
net::awaitable<bool> send_cut(client_side& client, http::response<http::buffer_body>& response,
                              capture::exchange& record, capture::exchange const& recorded, std::span<char> chunk,
                              proxy_config const& config) {
  record.status = response.result_int();
  record.reason = std::string(response.reason());
  record.response_headers = header_list_of(response);
  auto const& kept = recorded.response_body;
  bool const text = kept.text_kept && kept.text.size() == kept.bytes;
  capture::body_recorder recorder(text, config.body_limit_bytes);
  client.clean_end = false;
  http::response_serializer<http::buffer_body> out{response};
  client.stream.tcp().expires_after(config.idle_timeout);
  auto [header_ec, header_n] = co_await http::async_write_header(client.stream, out, use_nothrow);
  auto ec = header_ec;
  if (!text) std::fill(chunk.begin(), chunk.end(), '\0');
  for (std::uint64_t sent = 0; !ec && sent < kept.bytes;) {
    auto const n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), kept.bytes - sent));
    if (text) std::memcpy(chunk.data(), kept.text.data() + sent, n);
    recorder.observe({chunk.data(), n});
    response.body().data = chunk.data();
    response.body().size = n;
    response.body().more = true;
    client.stream.tcp().expires_after(config.idle_timeout);
    auto [write_ec, written] = co_await http::async_write(client.stream, out, use_nothrow);
    ec = write_ec == http::error::need_buffer ? beast::error_code{} : write_ec;
    sent += n;
  }
  record.response_body = recorder.finish(false);
  if (ec) {
    record.failure = capture::make_failure(capture::phase::response_relay, ec, "writing the replayed answer",
                                           capture::failing_peer::client);
  } else {
    record.failure = recorded.failure;  // the same cut, as the capture recorded it
    record.failure->detail = "replayed: " + record.failure->detail;
  }
  co_return false;
}

}  // namespace

net::awaitable<bool> replay_exchange(client_side& client, request_parser& request, capture::exchange& record,
                                     proxy_context& context, std::span<char> chunk) {
  auto const& config = context.config;
  auto& message = request.get();
  bool const keep_alive = message.keep_alive();
  bool const is_head = message.method() == http::verb::head;
  auto const started = steady_clock::now();

  // The body is read and recorded as it would be relayed: the client must be able to send it. A
  // client that asked for 100-continue waits for it first (RFC 9110 §10.1.1).
  if (!request.is_done() && capture::iequals(message[http::field::expect], "100-continue")) {
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    client.stream.tcp().expires_after(config.idle_timeout);
    auto [ec, n] = co_await net::async_write(client.stream, net::buffer(go_on), use_nothrow);
    if (ec) co_return false;
  }
  capture::body_recorder request_recorder(keeps_text(message), config.body_limit_bytes);
  while (!request.is_done()) {
    message.body().data = chunk.data();
    message.body().size = chunk.size();
    client.stream.tcp().expires_after(config.idle_timeout);
    auto [ec, n] = co_await http::async_read(client.stream, client.buffer, request, use_nothrow);
    if (ec == http::error::need_buffer) ec = {};
    request_recorder.observe({chunk.data(), chunk.size() - message.body().size});
    if (ec) {
      record.request_body = request_recorder.finish(false);
      record.failure = capture::make_failure(capture::phase::request_relay, ec, "reading the request body");
      co_return false;
    }
  }
  record.request_body = request_recorder.finish(true);
  record.timings.send = ms_between(started, steady_clock::now());

  auto const key = capture::replay::match_key(record.method, record.scheme, record.host, record.port,
                                              record.target, message[http::field::range]);
  auto answer = context.replay->next(key);
  if (!answer) {
    co_return co_await send_replay_error(
        client, record, http::status::not_found, capture::errc::replay_no_match,
        "regtrace replay: " + context.replay->path().filename().string() + " has no recorded answer for " +
            record.method + " " + record.url(),
        keep_alive, config);
  }
  auto const& recorded = answer->recorded;
  record.replayed_from = answer->index;

  // Bodies in a HAR are text kept whole (JSON errors, manifests, tokens); binary bodies never are.
  bool const no_body = is_head || recorded.status == 204 || recorded.status == 304 || recorded.response_body.bytes == 0;
  auto const& kept = recorded.response_body;
  bool const stored = !no_body && context.bodies && !kept.sha256.empty() &&
                      context.bodies->size_of(kept.sha256) == static_cast<std::int64_t>(kept.bytes);
  bool const cut = !is_head && cut_by_upstream(recorded);
  if (!no_body && !cut && !stored && !(kept.text_kept && !kept.text_truncated)) {
    co_return co_await send_replay_error(
        client, record, http::status::bad_gateway, capture::errc::replay_body_missing,
        "regtrace replay: the trace does not hold the " + std::to_string(kept.bytes) + "-byte body of entry " +
            std::to_string(answer->index + 1) + " (" + record.method + " " + record.url() +
            "); record with --store-bodies DIR and replay with the same DIR",
        keep_alive, config);
  }

  if (config.replay_timing && recorded.timings.wait > 0) {
    // The recorded wait, so that a client timer that fired in the capture fires again.
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(std::chrono::microseconds(static_cast<long long>(recorded.timings.wait * 1000)));
    co_await timer.async_wait(use_nothrow);
  }
  record.timings.wait = ms_between(started, steady_clock::now()) - record.timings.send;

  auto fill = [&](auto& response) {
    response.result(static_cast<unsigned>(recorded.status));
    if (!recorded.reason.empty()) response.reason(recorded.reason);
    for (auto const& h : recorded.response_headers)
      if (!is_framing(h.name)) response.insert(h.name, h.value);
    response.keep_alive(keep_alive);
  };
  if (cut) {
    http::response<http::buffer_body> response;
    fill(response);
    response.keep_alive(false);
    // The length the client was promised, or chunks when the recorded answer had no length.
    if (auto const* length = capture::find_header(recorded.response_headers, "Content-Length"))
      response.set(http::field::content_length, *length);
    else
      response.chunked(true);
    co_return co_await send_cut(client, response, record, recorded, chunk, config);
  }
  if (no_body) {
    http::response<http::empty_body> response;
    fill(response);
    // HEAD answers carry the length of the body they describe.
    if (auto const* length = capture::find_header(recorded.response_headers, "Content-Length"); length && is_head)
      response.set(http::field::content_length, *length);
    else if (recorded.status != 204 && recorded.status != 304)
      response.content_length(0);
    std::string_view const no_text;  // named: GCC 12 and braced temporaries in co_await
    co_return co_await send(client, response, record, no_text, config);
  }
  if (stored) {
    http::response<http::buffer_body> response;
    fill(response);
    response.content_length(kept.bytes);
    co_return co_await send_stored(client, response, record, context.bodies->path_for(kept.sha256), chunk, config);
  }
  http::response<http::string_body> response;
  fill(response);
  response.body() = kept.text;
  response.prepare_payload();
  co_return co_await send(client, response, record, response.body(), config);
}

}  // namespace regtrace::proxy
