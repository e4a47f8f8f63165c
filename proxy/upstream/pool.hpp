#pragma once
// The keep-alive pool of upstream connections. dockerd opens a new client connection per request
// (SPEC §7), so reusing upstream connections across them is what keeps the connection path fast;
// every entry says whether its upstream connection was reused.

#include "proxy/config/config.hpp"
#include "proxy/upstream/connection.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace regtrace::proxy {

/// Idle upstream connections by target, for the connections of one worker (one io_context and
/// thread), so pooled sockets stay on the thread that serves them. The mutex is never held across
/// co_await.
class upstream_pool {
 public:
  explicit upstream_pool(proxy_config const& config) : config_(config) {}

  /// An idle connection to target that the server has not closed meanwhile, or nullptr.
  std::unique_ptr<upstream_connection> take(upstream_target const& target);
  /// Returns a connection whose last response was complete and kept alive.
  void give_back(upstream_target const& target, std::unique_ptr<upstream_connection> connection);
  /// Closes every idle connection (shutdown).
  void clear();

 private:
  proxy_config const& config_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<std::unique_ptr<upstream_connection>>> idle_;
};

}  // namespace regtrace::proxy
