#include "proxy/session/replay_answer.hpp"

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

}  // namespace regtrace::proxy
