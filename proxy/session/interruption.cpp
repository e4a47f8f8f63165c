#include "proxy/session/interruption.hpp"

#include "proxy/session/proxy_context.hpp"

#include <boost/asio/error.hpp>

#include <cerrno>
#include <cstdio>

namespace regtrace::proxy {

std::string_view opening_step(capture::phase where) {
  switch (where) {
    case capture::phase::resolve:
      return "looking up the upstream's address";
    case capture::phase::upstream_connect:
      return "connecting to the upstream";
    case capture::phase::upstream_tls:
      return "waiting for the upstream's TLS handshake";
    default:
      return "opening the connection to the upstream";
  }
}

bool ended_by_regtrace(boost::system::error_code const& ec) {
  return ec == boost::asio::error::operation_aborted || ec == boost::asio::error::bad_descriptor;
}

bool ended_by_regtrace(capture::failure_record const& failure) {
  return failure.code_category == boost::system::system_category().name() &&
         (failure.code_value == ECANCELED || failure.code_value == EBADF);
}

bool record_if_cut_short(capture::exchange& record, client_side const& client, proxy_context const& context,
                         capture::phase where, std::string_view doing, std::chrono::steady_clock::time_point since,
                         bool ended_by_us) {
  bool const client_left = client.closed_at.has_value();
  // A stop cuts only what it ended: a failure that came first (an alert, a refused connection) stands.
  if (!client_left && !(context.stopping && ended_by_us)) return false;
  auto const at = client.closed_at.value_or(std::chrono::steady_clock::now());
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f s", std::chrono::duration<double>(at - since).count());
  std::string detail = client_left ? "the client closed the connection after " + std::string(seconds) +
                                         ", while regtrace was " + std::string(doing)
                                   : "regtrace was stopped after " + std::string(seconds) + ", while " +
                                         std::string(doing);
  record.failure = client_left ? capture::make_failure(where, capture::errc::client_abandoned, std::move(detail),
                                                       capture::failing_peer::client)
                               : capture::make_failure(where, capture::errc::proxy_stopped, std::move(detail));
  return true;
}

}  // namespace regtrace::proxy
