#pragma once
// Server replay (SPEC §6): the form a recorded answer is sent in. A pure function of the recorded
// exchange, so the choice is unit-tested without sockets; no Beast here.

#include "capture/model/exchange.hpp"

#include <chrono>
#include <string_view>

namespace regtrace::proxy {

/// The forms a recorded answer is replayed in.
enum class answer_form {
  no_body,       ///< the header alone: an answer to HEAD, a 204 or 304, an empty body
  stored_body,   ///< the body from the body store (--store-bodies), streamed
  cut_body,      ///< the upstream cut the body short: the header, the bytes the client got, a close
  silent,        ///< no answer came before the client gave up: the same silence, until it gives up again
  stalled_body,  ///< the body stopped moving and the client gave up: the header, the bytes, then silence
  kept_text,     ///< the body the trace kept whole, as text
  body_missing,  ///< the trace cannot give the body: regtrace answers 502 (errc::replay_body_missing)
  bad_status,    ///< the recorded status is no final HTTP status (RFC 9110 §15): regtrace answers 502
};

/// True when the upstream cut the recorded body short: the replay cuts it again.
bool cut_by_upstream(capture::exchange const& recorded);

/// True when the client gave up on the recorded exchange while regtrace waited on the upstream.
bool abandoned_by_client(capture::exchange const& recorded);

/// The form recorded is replayed in, as the answer to a request with `method`. body_stored: the body
/// store holds a file of the recorded body's digest and length.
answer_form choose_answer_form(capture::exchange const& recorded, std::string_view method, bool body_stored);

/// The longest wait --replay-timing replays: a trace may say anything (1e300, NaN, inf), and a client
/// that waited ten minutes for one answer has long given up.
inline constexpr std::chrono::minutes max_replayed_wait{10};

/// The recorded wait (HAR timings.wait, in ms) as a duration: 0 for a negative or NaN one, at most
/// max_replayed_wait.
std::chrono::microseconds replayed_wait(double recorded_ms);

}  // namespace regtrace::proxy
