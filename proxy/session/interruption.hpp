#pragma once
// An exchange cut short while it waited: the client closed its connection (the worker's client_watch
// saw it), or regtrace is stopping. Either way it is written at once, saying who stopped and after how
// long, and nobody is answered (SPEC §4: what the entry says the client received is what it received).

#include "capture/model/exchange.hpp"
#include "proxy/session/client_side.hpp"

#include <chrono>
#include <string_view>

namespace regtrace::proxy {

struct proxy_context;

/// What opening an upstream connection was doing when it failed in phase `where`, for the sentence
/// below: "waiting for the upstream's TLS handshake".
std::string_view opening_step(capture::phase where);

/// True for the errors of an operation regtrace itself ended: cancelled (operation_aborted), or started
/// on a socket regtrace had closed (bad_descriptor).
bool ended_by_regtrace(boost::system::error_code const& ec);
/// The same for a failure already recorded.
bool ended_by_regtrace(capture::failure_record const& failure);

/// If the exchange on client was cut short (the client closed, or regtrace is stopping and ended the
/// operation that failed with `ec`), records it on record: errc::client_abandoned (peer client) or
/// errc::proxy_stopped in phase `where`, with a
/// sentence: "the client closed the connection after 5.0 s, while regtrace was waiting for the
/// upstream's TLS handshake" or "regtrace was stopped after 1.0 s, while waiting for …". `doing`
/// completes that sentence; `since` is when the exchange began.
/// Returns true when it was cut short: the caller then ends the exchange without answering.
bool record_if_cut_short(capture::exchange& record, client_side const& client, proxy_context const& context,
                         capture::phase where, std::string_view doing, std::chrono::steady_clock::time_point since,
                         bool ended_by_us);

}  // namespace regtrace::proxy
