#include "proxy/session/exchange_relay.hpp"

#include "capture/body/body_recorder.hpp"
#include "capture/registry/classifier.hpp"
#include "proxy/config/upstream_proxy.hpp"
#include "proxy/io/body_relay.hpp"
#include "proxy/io/http_fields.hpp"
#include "proxy/io/timing.hpp"
#include "proxy/session/generated_response.hpp"
#include "proxy/session/interruption.hpp"
#include "proxy/upstream/connect.hpp"

#include <algorithm>
#include <memory>

namespace regtrace::proxy {
namespace {

using response_parser = http::response_parser<http::buffer_body>;

// Everything one exchange carries from step to step. It lives in relay_exchange's frame and the steps
// are awaited directly, so they take it by reference (STYLE rule 3 forbids that to spawned coroutines).
struct relay_state {
  relay_state(client_side& client_in, request_parser& request_in, upstream_target const& target_in,
              capture::exchange& record_in, proxy_context& context_in)
      : client(client_in),
        request(request_in),
        target(target_in),
        record(record_in),
        context(context_in),
        config(context_in.config),
        client_keep_alive(request_in.get().keep_alive()),
        request_has_body(!request_in.is_done()),
        is_head(request_in.get().method() == http::verb::head),
        expect_continue(expects_continue(request_in)),
        request_recorder(keeps_text(request_in.get()), context_in.config.body_limit_bytes) {
    // From here until the exchange ends, a client that closes is noticed at once (client_watch).
    client.watch_for_close = true;
    client.closed_at.reset();
  }
  ~relay_state() {
    client.watch_for_close = false;
    client.waiting_on = {};
  }
  relay_state(relay_state const&) = delete;
  relay_state& operator=(relay_state const&) = delete;

  client_side& client;
  request_parser& request;
  upstream_target const& target;
  capture::exchange& record;
  proxy_context& context;
  proxy_config const& config;

  // The request as the client sent it, read before prepare_request strips what was only for regtrace.
  bool const client_keep_alive;
  bool const request_has_body;
  bool const is_head;
  bool const expect_continue;
  capture::body_recorder request_recorder;

  std::unique_ptr<upstream_connection> upstream;
  std::optional<http::request_serializer<http::buffer_body>> serializer;
  std::optional<response_parser> response;
  steady_clock::time_point send_started{};
  steady_clock::time_point header_sent{};  // a request without a body waits for its answer from here
  steady_clock::time_point wait_started{};
  bool body_refused = false;  // the upstream stopped taking the body and answered first
  std::unique_ptr<char[]> chunk_storage;
  std::size_t chunk_bytes = 0;
  steady_clock::time_point const started = steady_clock::now();

  // The upstream connection this exchange now waits on: what the client watch ends if the client goes.
  void use_upstream(std::unique_ptr<upstream_connection> connection) {
    upstream = std::move(connection);
    client.waiting_on = {};
    client.waiting_on.stream = &upstream->stream.tcp();
  }
  // The chunk a body of `length` is relayed in: the body's size when it is known and smaller than
  // relay_chunk_bytes, else relay_chunk_bytes (a long body gets its own bigger piece, relay_body, and
  // falls back to this one). Allocated for the exchange only, and only as big as needed: 500 registry
  // requests in flight at once, most with bodies of a few hundred bytes, held 32 MiB of 64 KiB chunks
  // (issue 13). Uninitialised: reads fill it.
  std::span<char> chunk_for(boost::optional<std::uint64_t> length) {
    std::size_t const bytes = length && *length < config.relay_chunk_bytes
                                  ? std::max<std::size_t>(static_cast<std::size_t>(*length), 1)
                                  : config.relay_chunk_bytes;
    if (chunk_bytes < bytes) {
      chunk_storage.reset();  // the old one goes first: never both at once
      chunk_storage = std::make_unique_for_overwrite<char[]>(bytes);
      chunk_bytes = bytes;
    }
    return {chunk_storage.get(), bytes};
  }
  // The exchange was cut short while regtrace was `doing` (see record_if_cut_short).
  bool cut_short(capture::phase where, std::string_view doing, beast::error_code const& ec) {
    return record_if_cut_short(record, client, context, where, doing, started, ended_by_regtrace(ec));
  }
};

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
  return [&record, &report = context.on_progress, total = total.value_or(0),
          started = steady_clock::now()](std::uint64_t bytes) {
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

// Takes out of the request what belongs to the client's leg or to regtrace, and notes on the record how
// the upstream leg is reached.
void prepare_request(relay_state& s) {
  auto& message = s.request.get();
  strip_hop_by_hop(message);
  if (s.expect_continue) message.erase(http::field::expect);
  message.erase(http::field::proxy_authorization);  // addressed to regtrace, never forwarded (catalog §7.4)
  s.record.insecure_upstream = s.config.insecure_upstream && s.target.scheme == "https";
  s.record.upstream_proxy = display_url(s.config.upstream_proxy);
}

// The upstream connection: a pooled one on the first attempt, else a new one. One that cannot be
// opened is answered (502/504) and ends the exchange: false.
net::awaitable<bool> take_upstream(relay_state& s, bool first_attempt) {
  auto& record = s.record;
  auto pooled = first_attempt ? s.client.pool->take(s.target) : nullptr;
  record.upstream_reused = pooled != nullptr;
  if (pooled) {
    record.timings.dns = record.timings.connect = record.timings.ssl = -1;
    s.use_upstream(std::move(pooled));
  } else {
    auto opened = co_await open_upstream(s.target, s.config, s.context.upstream_tls,
                                         ++s.context.next_upstream_id, &s.client.waiting_on);
    if (!record_connection_attempt(record, opened)) {
      record.request_body = s.request_recorder.finish(!s.request_has_body);
      if (record_if_cut_short(record, s.client, s.context, record.failure->where,
                              opening_step(record.failure->where), s.started, ended_by_regtrace(*record.failure)))
        co_return false;
      co_await respond_generated(s.client, record, status_for_upstream_failure(opened.timed_out),
                                 record.failure->detail + ": " + record.failure->message, s.config);
      co_return false;
    }
    s.use_upstream(std::move(opened.connection));
  }
  record.upstream_connection_id = s.upstream->id;
  record.server_ip = s.upstream->server_ip;
  record.upstream_tls = s.upstream->tls;
  co_return true;
}

// Sends the request header and, for a request without a body, reads the response header. A pooled
// connection may have been closed by the registry just as we reused it: a request without a body that
// got no response byte is safe to send once more on a fresh connection (RFC 9110 §9.2.2).
net::awaitable<bool> send_head(relay_state& s) {
  auto& record = s.record;
  for (int attempt = 0;; ++attempt) {
    if (!co_await take_upstream(s, attempt == 0)) co_return false;
    bool const may_retry = record.upstream_reused && !s.request_has_body;
    s.send_started = steady_clock::now();
    s.serializer.emplace(s.request.get());
    auto written = co_await write_header(s.upstream->stream, *s.serializer, s.config.idle_timeout);
    if (!written) {
      if (may_retry && !s.client.closed_at && !s.context.stopping) continue;
      record.request_body = s.request_recorder.finish(!s.request_has_body);
      if (s.cut_short(capture::phase::request_relay, "sending the request header upstream", written.ec)) co_return false;
      co_await answer_upstream_failure(s.client, record, capture::phase::request_relay, written.ec,
                                       "sending the request header upstream",
                                       "the upstream connection failed while sending the request", s.config);
      co_return false;
    }
    if (s.request_has_body) co_return true;
    s.header_sent = steady_clock::now();
    auto ec = co_await read_response_head(*s.upstream, s.response, s.is_head, s.config);
    if (!ec) co_return true;
    if (may_retry && !s.client.closed_at && !s.context.stopping) continue;
    record.request_body = s.request_recorder.finish(true);
    record.timings.send = ms_between(s.send_started, s.header_sent);
    record.timings.wait = ms_between(s.header_sent, steady_clock::now());
    if (s.cut_short(capture::phase::response_relay, "waiting for the response header", ec)) co_return false;
    co_await answer_upstream_failure(s.client, record, capture::phase::response_relay, ec,
                                     "waiting for the response header", "the upstream did not answer",
                                     s.config);
    co_return false;
  }
}

// Expect: 100-continue (RFC 9110 §10.1.1): the client waits for a 100 before sending the body. Not
// every upstream sends one, and waiting on it could stall the exchange, so regtrace answers it
// itself once the upstream leg is ready (as nginx does); Expect was not forwarded.
net::awaitable<bool> answer_continue(relay_state& s) {
  if (!s.expect_continue) co_return true;
  auto ec = co_await send_continue(s.client, s.config.idle_timeout);
  if (!ec) co_return true;
  s.record.request_body = s.request_recorder.finish(false);
  if (s.cut_short(capture::phase::request_relay, "sending 100 Continue to the client", ec)) co_return false;
  s.record.failure = capture::make_failure(
      capture::phase::request_relay, ec, "sending 100 Continue to the client", capture::failing_peer::client);
  co_return false;
}

// A body the parser refused, as opposed to a stream that failed: a chunk size that overflows, a bad
// chunk extension, a chunk without its CRLF, a malformed trailer (RFC 9112 §7.1).
bool is_malformed_body(beast::error_code const& ec) {
  if (ec.category() != http::make_error_code(http::error::bad_chunk).category()) return false;
  return ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_more && ec != http::error::need_buffer && ec != http::error::short_read;
}

// The client's request body could not be parsed after part of it went upstream: the client is answered
// 400 like a malformed request head, and the upstream connection, holding half a request, is dropped
// (relay_state never pools it). Before issue 13 the client's connection was closed with no answer.
net::awaitable<void> answer_malformed_body(relay_state& s, beast::error_code const& ec) {
  s.record.failure = capture::make_failure(
      capture::phase::request_relay, capture::errc::malformed_request,
      "the client sent a malformed chunked request body (" + ec.message() + ") after " +
          std::to_string(s.record.request_body.bytes) + " bytes of it were relayed upstream",
      capture::failing_peer::client);
  co_await respond_generated(s.client, s.record, http::status::bad_request,
                             "regtrace could not parse the request body: " + ec.message(), s.config);
}

// Streams the request body upstream, and ends HAR send: when the request is out. For a request without
// a body send_head already read the answer's header, so waiting counts from the header write.
net::awaitable<bool> relay_request_body(relay_state& s) {
  auto& record = s.record;
  if (!s.request_has_body) {
    record.request_body = s.request_recorder.finish(true);
    s.wait_started = s.header_sent;
    record.timings.send = ms_between(s.send_started, s.wait_started);
    co_return true;
  }
  auto const progress = progress_of(record, s.request.content_length(), s.context);
  auto sent = co_await relay_body<true>(s.client.stream, s.client.buffer, s.request, s.upstream->stream,
                                        *s.serializer, s.chunk_for(s.request.content_length()),
                                        s.request_recorder, s.config.idle_timeout, progress);
  record.request_body = s.request_recorder.finish(static_cast<bool>(sent));
  if (!sent) {
    record.timings.send = ms_between(s.send_started, steady_clock::now());
    if (s.cut_short(capture::phase::request_relay, "relaying the request body", sent.ec)) co_return false;
    if (sent.source_failed && is_malformed_body(sent.ec)) {
      co_await answer_malformed_body(s, sent.ec);
      co_return false;
    }
    if (sent.source_failed) {
      record.failure =
          capture::make_failure(capture::phase::request_relay, sent.ec,
                                "reading the request body from the client", capture::failing_peer::client);
      co_return false;
    }
    // The upstream stopped taking the body: it may have answered first (413 at an ingress, A-13).
    record.failure =
        capture::make_failure(capture::phase::request_relay, sent.ec, "sending the request body upstream",
                              capture::failing_peer::upstream);
    if (auto ec = co_await read_response_head(*s.upstream, s.response, s.is_head, s.config)) {
      if (s.cut_short(capture::phase::response_relay, "waiting for the response header", ec)) co_return false;
      co_await respond_generated(s.client, record, status_for_upstream_failure(is_timeout(sent.ec)),
                                 "the upstream stopped accepting the request body: " + sent.ec.message(),
                                 s.config);
      co_return false;
    }
    s.body_refused = true;
  }
  s.wait_started = steady_clock::now();
  record.timings.send = ms_between(s.send_started, s.wait_started);
  co_return true;
}

// The final response's header, relaying any interim (1xx) ones before it.
net::awaitable<bool> read_final_response(relay_state& s) {
  for (;;) {
    if (!s.response) {
      if (auto ec = co_await read_response_head(*s.upstream, s.response, s.is_head, s.config)) {
        s.record.timings.wait = ms_between(s.wait_started, steady_clock::now());
        if (s.cut_short(capture::phase::response_relay, "waiting for the response header", ec)) co_return false;
        co_await answer_upstream_failure(s.client, s.record, capture::phase::response_relay, ec,
                                         "waiting for the response header", "the upstream did not answer",
                                         s.config);
        co_return false;
      }
    }
    int const code = s.response->get().result_int();
    if (code / 100 != 1 || code == 101) co_return true;
    if (auto forwarded = co_await forward_interim(s.client, *s.response, s.config.idle_timeout); !forwarded) {
      if (s.cut_short(capture::phase::response_relay, "relaying an interim response", forwarded.ec)) co_return false;
      s.record.failure = capture::make_failure(capture::phase::response_relay, forwarded.ec,
                                               "writing an interim (1xx) response to the client",
                                               capture::failing_peer::client);
      co_return false;
    }
    s.response.reset();
  }
}

// --store-bodies: whole blob and manifest bodies only (a 206 is a piece, not content with a digest;
// a token answer is a secret that redaction keeps out of the trace, and out of the store too).
bool stores_body(relay_state const& s, bool no_body) {
  auto const& record = s.record;
  return s.context.bodies && !no_body && record.status == 200 && record.method == "GET" &&
         is_content(capture::registry::classify(record.method, record.host, record.target).kind);
}

// Relays the final response to the client, recorded as it goes, and pools the upstream connection when
// its response ended cleanly. Returns whether the client connection carries another request.
net::awaitable<bool> relay_response(relay_state& s) {
  auto& record = s.record;
  auto receive_started = steady_clock::now();
  record.timings.wait = ms_between(s.wait_started, receive_started);
  auto& answer = s.response->get();
  record_response_head(record, answer);
  record.response_http_version = version_text(answer.version());
  if (record.status == 101) {
    // Registries never switch protocols; relaying an upgraded stream is out of scope.
    record.failure = capture::make_failure(capture::phase::response_relay, capture::errc::unsupported_upgrade,
                                           "101 Switching Protocols", capture::failing_peer::upstream);
    co_await respond_generated(s.client, record, http::status::bad_gateway,
                               "regtrace does not relay protocol upgrades", s.config);
    co_return false;
  }

  bool const no_body = s.is_head || record.status == 204 || record.status == 304;
  bool const upstream_keep_alive = answer.keep_alive();
  bool const close_delimited = !no_body && !answer.has_content_length() && !answer.chunked();
  bool const keep_client = s.client_keep_alive && !close_delimited && !s.body_refused;
  capture::body_recorder recorder(keeps_text(answer), s.config.body_limit_bytes);
  if (stores_body(s, no_body)) recorder.store_into(s.context.bodies->begin());
  strip_hop_by_hop(answer);
  answer.keep_alive(keep_client);

  http::response_serializer<http::buffer_body> out{answer};
  auto relayed = co_await write_header(s.client.stream, out, s.config.idle_timeout);
  auto const progress = progress_of(record, s.response->content_length(), s.context);
  if (relayed && !no_body)
    relayed = co_await relay_body<false>(s.upstream->stream, s.upstream->buffer, *s.response, s.client.stream,
                                         out, s.chunk_for(s.response->content_length()), recorder,
                                         s.config.idle_timeout, progress);
  record.response_body = recorder.finish(static_cast<bool>(relayed));
  record.timings.receive = ms_between(receive_started, steady_clock::now());
  if (!relayed) {
    if (relayed.source_failed) s.client.clean_end = false;
    if (s.cut_short(capture::phase::response_relay, "relaying the response body", relayed.ec)) co_return false;
    record.failure = capture::make_failure(
        capture::phase::response_relay, relayed.ec,
        relayed.source_failed ? "reading the response body from the upstream"
                              : "writing the response to the client",
        relayed.source_failed ? capture::failing_peer::upstream : capture::failing_peer::client);
    co_return false;
  }
  if (upstream_keep_alive && !close_delimited && !s.body_refused && s.response->is_done()) {
    s.client.waiting_on = {};  // the pool keeps the connection now: nothing here may end it
    s.client.pool->give_back(s.target, std::move(s.upstream));
  }
  co_return keep_client;
}

}  // namespace

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

net::awaitable<bool> relay_exchange(client_side& client, request_parser& request, upstream_target target,
                                    capture::exchange& record, proxy_context& context) {
  relay_state s(client, request, target, record, context);
  prepare_request(s);
  if (!co_await send_head(s)) co_return false;
  if (!co_await answer_continue(s)) co_return false;
  if (!co_await relay_request_body(s)) co_return false;
  if (!co_await read_final_response(s)) co_return false;
  co_return co_await relay_response(s);
}

}  // namespace regtrace::proxy
