#pragma once
// An idle timeout for long transfers without a timer per operation. tcp_stream's timeouts start a
// timer wait on every read and write (a timerfd re-arm and an extra handler each: a quarter of the
// relay's cost on a 1 GiB layer); this watch keeps one timer per body and checks a progress stamp.

#include "proxy/io/net.hpp"

#include <chrono>
#include <memory>

namespace regtrace::proxy {

/// Shared between a relay loop and its watch coroutine, on one worker thread.
struct idle_watch {
  explicit idle_watch(net::any_io_executor executor) : timer(std::move(executor)) {}
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  net::steady_timer timer;
  beast::tcp_stream* source = nullptr;  ///< cancelled when idle; valid while !done
  beast::tcp_stream* sink = nullptr;
  bool done = false;   ///< the relay ended: the watch must not touch the streams
  bool fired = false;  ///< the watch cancelled the transfer for idleness
};

/// Starts watching: when no progress was stamped for `idle`, cancels both streams' operations.
/// The relay stamps last_progress per chunk and sets done (and cancels the timer) when it ends.
std::shared_ptr<idle_watch> start_idle_watch(beast::tcp_stream& source, beast::tcp_stream& sink,
                                             std::chrono::seconds idle);

/// Ends a watch started by start_idle_watch.
void stop_idle_watch(idle_watch& watch);

}  // namespace regtrace::proxy
