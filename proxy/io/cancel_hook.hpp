#pragma once
// What an operation in progress waits on, so that someone else can stop it: the worker's client watch
// when the client has gone (catalog A-07: nothing left to wait for), or the server when regtrace
// stops (SPEC §4: what is in flight is written as an incomplete entry). Set by the one that waits, for
// as long as it waits, and used on the same worker thread.

#include "proxy/io/net.hpp"

#include <boost/asio/steady_timer.hpp>

namespace regtrace::proxy {

struct cancel_hook {
  beast::tcp_stream* stream = nullptr;  ///< a connect, handshake, read or write on this stream
  tcp::resolver* resolver = nullptr;    ///< a name lookup
  net::steady_timer* timer = nullptr;   ///< a wait (replay's recorded timing)

  /// Ends whatever is waited on: a stream is closed (its pending operation completes with
  /// operation_aborted, and one started later fails at once: nothing slips between the two), a lookup
  /// or a wait is cancelled. The connection is not reused afterwards.
  void end() {
    if (stream) stream->close();
    if (resolver) resolver->cancel();
    if (timer) timer->cancel();
  }
};

/// Points a hook at what is waited on for a scope; the hook is cleared when the scope ends, before
/// the object it names can go.
template <class Waited>
class hooked {
 public:
  hooked(cancel_hook* hook, Waited& waited) : hook_(hook) {
    if (hook_) slot() = &waited;
  }
  ~hooked() {
    if (hook_) slot() = nullptr;
  }
  hooked(hooked const&) = delete;
  hooked& operator=(hooked const&) = delete;

 private:
  Waited*& slot() {
    if constexpr (std::is_same_v<Waited, tcp::resolver>)
      return hook_->resolver;
    else if constexpr (std::is_same_v<Waited, net::steady_timer>)
      return hook_->timer;
    else
      return hook_->stream;
  }
  cancel_hook* hook_;
};

}  // namespace regtrace::proxy
