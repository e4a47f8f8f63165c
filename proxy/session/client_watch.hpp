#pragma once
// The clients of one worker, watched while their exchanges wait on an upstream. A client that closes
// its connection then (its own timer fired: catalog) would otherwise be noticed only when
// the upstream finally answers, perhaps minutes later; the watch sees the close at once and ends the
// upstream wait, so the exchange is written with what the client did (SPEC §4). When regtrace stops,
// the watch ends every connection's operations, so each writes what it had in flight.

#include "proxy/session/client_side.hpp"

#include <boost/intrusive/list.hpp>

#include <poll.h>

#include <chrono>
#include <vector>

namespace regtrace::proxy {

/// One per worker; only that worker's thread touches it (no lock).
class client_watch {
 public:
  /// How often watched clients are checked: a client's close is noticed within this time.
  static constexpr std::chrono::milliseconds period{100};

  /// Watches client for as long as it is listed (serve_client lists it for the connection's life).
  void add(client_side& client) { clients_.push_back(client); }
  void remove(client_side& client) { clients_.erase(clients_.iterator_to(client)); }

  /// Checks the watched clients every `period` until stop_all().
  net::awaitable<void> run();

  /// regtrace stops: every connection's socket and upstream wait are closed, so each pending operation
  /// ends now and its coroutine records what was in flight.
  void stop_all();

 private:
  void check_clients();

  boost::intrusive::list<client_side, boost::intrusive::constant_time_size<false>> clients_;
  std::vector<pollfd> polled_;             // reused between checks
  std::vector<client_side*> polled_clients_;
  net::steady_timer* timer_ = nullptr;     // run()'s timer, while it runs
  bool stopping_ = false;
};

}  // namespace regtrace::proxy
