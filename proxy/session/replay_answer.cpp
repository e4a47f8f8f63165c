#include "proxy/session/replay_answer.hpp"

#include <cmath>

namespace regtrace::proxy {

bool cut_by_upstream(capture::exchange const& recorded) {
  return recorded.failure && recorded.failure->where == capture::phase::response_relay &&
         recorded.failure->peer == capture::failing_peer::upstream && !recorded.response_body.complete;
}

bool abandoned_by_client(capture::exchange const& recorded) {
  return capture::failed_with(recorded, capture::errc::client_abandoned);
}

answer_form choose_answer_form(capture::exchange const& recorded, std::string_view method, bool body_stored) {
  bool const is_head = method == "HEAD";
  // What the client gave up on is replayed as what it got: nothing, or a body that stopped.
  if (abandoned_by_client(recorded) && recorded.status == 0) return answer_form::silent;
  // A 1xx is never the final answer, and Beast throws on a status past 999 (RFC 9110 §15: 100..599).
  if (recorded.status < 200 || recorded.status > 599) return answer_form::bad_status;
  if (abandoned_by_client(recorded) && !is_head && !recorded.response_body.complete)
    return answer_form::stalled_body;
  // A cut is replayed as a cut whatever the body, so the client meets the same unexpected end.
  if (!is_head && cut_by_upstream(recorded)) return answer_form::cut_body;
  auto const& kept = recorded.response_body;
  if (is_head || recorded.status == 204 || recorded.status == 304 || kept.bytes == 0)
    return answer_form::no_body;
  if (body_stored) return answer_form::stored_body;
  // Bodies in a HAR are text kept whole (JSON errors, manifests, tokens); binary bodies never are.
  if (kept.text_kept && !kept.text_truncated) return answer_form::kept_text;
  return answer_form::body_missing;
}

std::chrono::microseconds replayed_wait(double recorded_ms) {
  // Compared as doubles first: converting 1e300 ms or inf to an integer count is undefined behaviour.
  constexpr double max_ms = std::chrono::duration<double, std::milli>(max_replayed_wait).count();
  if (!(recorded_ms > 0)) return std::chrono::microseconds{0};  // NaN, negative, zero
  if (recorded_ms >= max_ms) return max_replayed_wait;
  return std::chrono::microseconds(std::llround(recorded_ms * 1000));
}

}  // namespace regtrace::proxy
