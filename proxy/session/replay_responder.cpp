#include "proxy/session/replay_responder.hpp"

#include "capture/body/body_recorder.hpp"
#include "capture/replay/matcher.hpp"
#include "capture/replay/replay_source.hpp"
#include "proxy/io/body_relay.hpp"
#include "proxy/io/http_fields.hpp"
#include "proxy/io/timing.hpp"
#include "proxy/session/generated_response.hpp"
#include "proxy/session/interruption.hpp"
#include "proxy/session/replay_answer.hpp"
#include "proxy/session/replay_fields.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace regtrace::proxy {
namespace {

// Where one replayed answer goes and where it is recorded. Lives in replay_exchange's frame; the
// senders are awaited directly, so they take it by reference.
struct replay_job {
  client_side& client;
  capture::exchange& record;
  proxy_context const& context;
  proxy_config const& config;
  std::span<char> chunk;
  bool keep_alive = false;  ///< the client's request allowed another one
  steady_clock::time_point started = steady_clock::now();
  capture::header_list fields{};  ///< the recorded answer's header fields that can be written back
  std::string reason{};           ///< its reason phrase, or "" when it could not be
};

// Framing is the replaying proxy's own business: the recorded values describe another connection.
bool is_framing(std::string_view name) {
  for (std::string_view framing :
       {"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Content-Length"})
    if (capture::iequals(name, framing)) return true;
  return false;
}

// What of the recorded head can be written back (SPEC §8: never a CR, LF or NUL from a trace); what
// cannot is left out and said in a warning naming the connection and the recorded entry.
void take_recorded_head(replay_job& job, capture::exchange const& recorded, std::uint64_t entry) {
  auto writable = writable_fields_of(recorded.response_headers);
  job.fields = std::move(writable.kept);
  if (is_field_value(recorded.reason) && recorded.reason.size() <= max_replayed_field_bytes)
    job.reason = recorded.reason;
  else
    writable.notes.push_back("left out the reason phrase: it holds CR, LF, NUL or another control character");
  if (!job.context.log) return;
  for (auto const& note : writable.notes)
    job.context.log->warn("[c{} r{}] replaying entry {}: {}", job.record.connection_id,
                          job.record.request_index, entry + 1, note);
}

// The recorded status, reason and headers (those take_recorded_head kept), framing left out. The
// status is a final one (answer_form::bad_status otherwise).
template <class Body>
void set_recorded_head(http::response<Body>& response, replay_job const& job,
                       capture::exchange const& recorded) {
  response.result(static_cast<unsigned>(recorded.status));
  if (!job.reason.empty()) response.reason(job.reason);
  for (auto const& h : job.fields)
    if (!is_framing(h.name)) response.insert(h.name, h.value);
  response.keep_alive(job.keep_alive);
}

// The recorded Content-Length, when it is one (digits only: it is written back as the framing).
std::optional<std::uint64_t> recorded_length(replay_job const& job) {
  auto const* length = capture::find_header(job.fields, "Content-Length");
  return length ? parse_content_length(*length) : std::nullopt;
}

// Whether --store-bodies holds the recorded body: a file of its digest and length.
bool store_holds(capture::body_store const* bodies, capture::body_record const& body) {
  return bodies && !body.sha256.empty() &&
         bodies->size_of(body.sha256) == static_cast<std::int64_t>(body.bytes);
}

template <class Body>
net::awaitable<bool> send(replay_job& job, http::response<Body>& response, std::string_view body_text) {
  record_response_head(job.record, response);
  capture::body_recorder recorder(keeps_text(response), job.config.body_limit_bytes);
  recorder.observe(body_text);
  job.client.stream.tcp().expires_after(job.config.idle_timeout);
  auto [ec, n] = co_await http::async_write(job.client.stream, response, use_nothrow);
  job.record.response_body = recorder.finish(!ec);
  if (ec) {
    record_undelivered(job.record, ec);
    co_return false;
  }
  co_return response.keep_alive();
}

// A registry-style error (catalog §1 body shape), so clients print its message: "unknown: regtrace replay
// ...".
net::awaitable<bool> send_replay_error(replay_job& job, http::status status, beast::error_code code,
                                       std::string message) {
  auto& record = job.record;
  record.failure = capture::make_failure(capture::phase::response_relay, code, message);
  record.generated_response = true;
  nlohmann::json body = {
      {"errors", {{{"code", "UNKNOWN"}, {"message", message}, {"detail", {{"replay", record.url()}}}}}}};
  http::response<http::string_body> response{status, 11};
  response.set(http::field::server, "regtrace-replay");
  response.set(http::field::content_type, "application/json");
  response.set("Docker-Distribution-Api-Version", "registry/2.0");
  response.body() = body.dump() + "\n";
  response.prepare_payload();
  response.keep_alive(job.keep_alive);
  co_return co_await send(job, response, response.body());
}

// Streams a stored body (--store-bodies) in fixed chunks: layers are gigabytes (STYLE rule 6). Never
// more than the Content-Length sent, should the file have grown since it was measured.
net::awaitable<bool> send_stored(replay_job& job, http::response<http::buffer_body>& response,
                                 capture::body_store const& bodies, std::string_view sha256,
                                 std::uint64_t bytes) {
  auto& record = job.record;
  auto& stream = job.client.stream;
  record_response_head(record, response);
  capture::body_recorder recorder(false, job.config.body_limit_bytes);
  auto fail = [&](beast::error_code ec, char const* doing) {
    record.response_body = recorder.finish(false);
    record.failure = capture::make_failure(capture::phase::response_relay, ec, doing);
    return false;
  };
  errno = 0;
  auto const in = bodies.open(sha256);
  if (!in)
    co_return fail(beast::error_code(errno ? errno : ENOENT, boost::system::generic_category()),
                   "opening the stored body");
  http::response_serializer<http::buffer_body> out{response};
  stream.tcp().expires_after(job.config.idle_timeout);
  auto [header_ec, header_n] = co_await http::async_write_header(stream, out, use_nothrow);
  if (header_ec) co_return fail(header_ec, "writing the replayed answer");
  for (std::uint64_t left = bytes;;) {
    auto const want = static_cast<std::size_t>(std::min<std::uint64_t>(job.chunk.size(), left));
    std::size_t const n = want ? std::fread(job.chunk.data(), 1, want, in.get()) : 0;
    left -= n;
    recorder.observe({job.chunk.data(), n});
    response.body().data = n ? job.chunk.data() : nullptr;
    response.body().size = n;
    response.body().more = n != 0;
    stream.tcp().expires_after(job.config.idle_timeout);
    auto [ec, written] = co_await http::async_write(stream, out, use_nothrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return fail(ec, "writing the replayed body");
    if (n == 0) break;
  }
  record.response_body = recorder.finish(true);
  co_return response.keep_alive();
}

// The recorded header and as many body bytes as the client got (the kept text, or zeros: a trace never
// holds binary bytes, and an unfinished body is never stored), without the rest. The write's error.
net::awaitable<beast::error_code> send_partial(replay_job& job, http::response<http::buffer_body>& response,
                                               capture::exchange const& recorded) {
  auto& record = job.record;
  auto& stream = job.client.stream;
  auto const chunk = job.chunk;
  record_response_head(record, response);
  auto const& kept = recorded.response_body;
  bool const text = kept.text_kept && kept.text.size() == kept.bytes;
  capture::body_recorder recorder(text, job.config.body_limit_bytes);
  job.client.clean_end = false;
  http::response_serializer<http::buffer_body> out{response};
  stream.tcp().expires_after(job.config.idle_timeout);
  auto [header_ec, header_n] = co_await http::async_write_header(stream, out, use_nothrow);
  auto ec = header_ec;
  if (!text) std::fill(chunk.begin(), chunk.end(), '\0');
  for (std::uint64_t sent = 0; !ec && sent < kept.bytes;) {
    auto const n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), kept.bytes - sent));
    if (text) std::memcpy(chunk.data(), kept.text.data() + sent, n);
    recorder.observe({chunk.data(), n});
    response.body().data = chunk.data();
    response.body().size = n;
    response.body().more = true;
    stream.tcp().expires_after(job.config.idle_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, out, use_nothrow);
    ec = write_ec == http::error::need_buffer ? beast::error_code{} : write_ec;
    sent += n;
  }
  record.response_body = recorder.finish(false);
  co_return ec;
}

// Replays a cut: the partial answer, then the connection closes without close_notify, so the client
// meets the same unexpected end as in the capture.
net::awaitable<bool> send_cut(replay_job& job, http::response<http::buffer_body>& response,
                              capture::exchange const& recorded) {
  if (auto ec = co_await send_partial(job, response, recorded)) {
    job.record.failure = capture::make_failure(capture::phase::response_relay, ec, "writing the replayed answer",
                                               capture::failing_peer::client);
  } else {
    job.record.failure = recorded.failure;  // the same cut, as the capture recorded it
    job.record.failure->detail = "replayed: " + job.record.failure->detail;
  }
  co_return false;
}

// Holds the connection without a byte, as the recorded upstream did, while the client is watched: until
// it gives up (operation_aborted) or the idle timeout passes (no error), as with a silent upstream.
net::awaitable<beast::error_code> hold_silence(replay_job& job) {
  net::steady_timer timer(co_await net::this_coro::executor);
  timer.expires_after(job.config.idle_timeout);
  job.client.closed_at.reset();
  job.client.watch_for_close = true;
  hooked waiting(&job.client.waiting_on, timer);
  auto [ec] = co_await timer.async_wait(use_nothrow);
  job.client.watch_for_close = false;
  co_return ec;
}

// Replays an answer that never came before the client gave up: the same silence. A client that waits
// longer this time meets the idle timeout, and the 504 a silent upstream gets.
net::awaitable<bool> send_silence(replay_job& job) {
  auto const ec = co_await hold_silence(job);
  auto& record = job.record;
  if (record_if_cut_short(record, job.client, job.context, capture::phase::response_relay,
                          "replaying a recorded silence (no answer came before the client gave up)", job.started,
                          ended_by_regtrace(ec)))
    co_return false;
  record.failure = capture::make_failure(capture::phase::response_relay, beast::error::timeout,
                                         "replayed: the recorded upstream did not answer",
                                         capture::failing_peer::upstream);
  co_await respond_generated(job.client, record, http::status::gateway_timeout,
                             "the upstream did not answer (replayed)", job.config);
  co_return false;
}

// Replays a body that stopped moving before the client gave up: the bytes it got, then silence.
net::awaitable<bool> send_stall(replay_job& job, http::response<http::buffer_body>& response,
                                capture::exchange const& recorded) {
  auto& record = job.record;
  if (auto ec = co_await send_partial(job, response, recorded)) {
    record.failure = capture::make_failure(capture::phase::response_relay, ec, "writing the replayed answer",
                                           capture::failing_peer::client);
    co_return false;
  }
  auto const ec = co_await hold_silence(job);
  if (!record_if_cut_short(record, job.client, job.context, capture::phase::response_relay,
                           "replaying a body that stopped moving", job.started, ended_by_regtrace(ec)))
    record.failure = capture::make_failure(capture::phase::response_relay, beast::error::timeout,
                                           "replayed: the recorded body stopped moving",
                                           capture::failing_peer::upstream);
  co_return false;
}

// Sends recorded in the form chosen for it (choose_answer_form), body_missing aside.
net::awaitable<bool> send_answer(replay_job& job, capture::exchange const& recorded, answer_form form,
                                 capture::body_store const* bodies) {
  auto const& kept = recorded.response_body;
  bool const is_head = job.record.method == "HEAD";
  if (form == answer_form::silent) co_return co_await send_silence(job);
  if (form == answer_form::cut_body || form == answer_form::stalled_body) {
    http::response<http::buffer_body> response;
    set_recorded_head(response, job, recorded);
    response.keep_alive(false);
    // The length the client was promised, or chunks when the recorded answer had none: a length no
    // longer than the bytes sent would frame them as a whole answer and more.
    if (auto const length = recorded_length(job); length && *length > kept.bytes)
      response.content_length(*length);
    else
      response.chunked(true);
    if (form == answer_form::stalled_body) co_return co_await send_stall(job, response, recorded);
    co_return co_await send_cut(job, response, recorded);
  }
  if (form == answer_form::no_body) {
    http::response<http::empty_body> response;
    set_recorded_head(response, job, recorded);
    // HEAD answers carry the length of the body they describe.
    if (auto const length = recorded_length(job); length && is_head)
      response.content_length(*length);
    else if (recorded.status != 204 && recorded.status != 304)
      response.content_length(0);
    std::string_view const no_text;  // named: GCC 12 and braced temporaries in co_await
    co_return co_await send(job, response, no_text);
  }
  if (form == answer_form::stored_body) {
    http::response<http::buffer_body> response;
    set_recorded_head(response, job, recorded);
    response.content_length(kept.bytes);
    co_return co_await send_stored(job, response, *bodies, kept.sha256, kept.bytes);
  }
  http::response<http::string_body> response;
  set_recorded_head(response, job, recorded);
  response.body() = kept.text;
  response.prepare_payload();
  co_return co_await send(job, response, response.body());
}

// The body is read and recorded as it would be relayed: the client must be able to send it. A client
// that asked for 100-continue waits for it first (RFC 9110 §10.1.1).
net::awaitable<bool> read_request_body(replay_job& job, request_parser& request) {
  if (expects_continue(request)) {
    if (co_await send_continue(job.client, job.config.idle_timeout)) co_return false;
  }
  capture::body_recorder recorder(keeps_text(request.get()), job.config.body_limit_bytes);
  auto ec = co_await read_body(job.client.stream, job.client.buffer, request, job.chunk, recorder,
                               job.config.idle_timeout);
  job.record.request_body = recorder.finish(!ec);
  if (!ec) co_return true;
  job.record.failure = capture::make_failure(capture::phase::request_relay, ec, "reading the request body");
  co_return false;
}

// The recorded wait (--replay-timing), so that a client timer that fired in the capture fires again. The
// client is watched meanwhile, as while a real upstream is awaited: if it gives up, the wait ends.
net::awaitable<beast::error_code> wait_as_recorded(capture::exchange const& recorded, client_side& client,
                                                   proxy_config const& config) {
  auto const wait = replayed_wait(recorded.timings.wait);
  if (!config.replay_timing || wait.count() == 0) co_return beast::error_code{};
  net::steady_timer timer(co_await net::this_coro::executor);
  timer.expires_after(wait);
  client.closed_at.reset();
  client.watch_for_close = true;
  hooked waiting(&client.waiting_on, timer);
  auto [ec] = co_await timer.async_wait(use_nothrow);
  client.watch_for_close = false;
  co_return ec;
}

}  // namespace

net::awaitable<bool> replay_exchange(client_side& client, request_parser& request, capture::exchange& record,
                                     proxy_context& context, std::span<char> chunk) {
  replay_job job{client, record, context, context.config, chunk, request.get().keep_alive()};
  auto const started = job.started;
  if (!co_await read_request_body(job, request)) co_return false;
  record.timings.send = ms_between(started, steady_clock::now());

  auto const key = capture::replay::match_key(record.method, record.scheme, record.host, record.port,
                                              record.target, request.get()[http::field::range]);
  auto answer = context.replay->next(key);
  if (!answer) {
    co_return co_await send_replay_error(job, http::status::not_found, capture::errc::replay_no_match,
                                         "regtrace replay: " + context.replay->path().filename().string() +
                                             " has no recorded answer for " + record.method + " " +
                                             record.url());
  }
  auto const& recorded = answer->recorded;
  record.replayed_from = answer->index;
  auto const form =
      choose_answer_form(recorded, record.method, store_holds(context.bodies.get(), recorded.response_body));
  if (form == answer_form::body_missing) {
    co_return co_await send_replay_error(
        job, http::status::bad_gateway, capture::errc::replay_body_missing,
        "regtrace replay: the trace does not hold the " + std::to_string(recorded.response_body.bytes) +
            "-byte body of entry " + std::to_string(answer->index + 1) + " (" + record.method + " " +
            record.url() + "); record with --store-bodies DIR and replay with the same DIR");
  }
  if (form == answer_form::bad_status) {
    co_return co_await send_replay_error(
        job, http::status::bad_gateway, make_error_code(boost::system::errc::bad_message),
        "regtrace replay: entry " + std::to_string(answer->index + 1) + " (" + record.method + " " +
            record.url() + ") holds status " + std::to_string(recorded.status) +
            ", which is no final HTTP status (RFC 9110 §15); it cannot be sent as an answer");
  }
  take_recorded_head(job, recorded, answer->index);
  auto const waited = co_await wait_as_recorded(recorded, client, context.config);
  record.timings.wait = ms_between(started, steady_clock::now()) - record.timings.send;
  if (waited && record_if_cut_short(record, client, context, capture::phase::response_relay,
                                    "waiting as long as the recorded answer took (--replay-timing)", started,
                                    ended_by_regtrace(waited)))
    co_return false;
  co_return co_await send_answer(job, recorded, form, context.bodies.get());
}

}  // namespace regtrace::proxy
