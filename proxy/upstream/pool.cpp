#include "proxy/upstream/pool.hpp"

#include "proxy/io/timing.hpp"

#include <sys/socket.h>

namespace regtrace::proxy {
namespace {

// A pooled connection may have been closed by the server while idle. A non-blocking peek tells:
// 0 bytes is the FIN, data is a close_notify or garbage; either way the connection is not reusable.
bool still_open(upstream_connection& c) {
  auto& socket = c.stream.tcp().socket();
  if (!socket.is_open()) return false;
  char byte;
  auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<upstream_connection> upstream_pool::take(upstream_target const& target) {
  std::lock_guard lock(mutex_);
  auto found = idle_.find(target.key());
  if (found == idle_.end()) return nullptr;
  auto& list = found->second;
  auto now = steady_clock::now();
  while (!list.empty()) {
    auto connection = std::move(list.back());  // most recently used first: least likely to be closed
    list.pop_back();
    if (now - connection->idle_since < config_.pool_idle_timeout && still_open(*connection))
      return connection;
  }
  return nullptr;
}

void upstream_pool::give_back(upstream_target const& target,
                              std::unique_ptr<upstream_connection> connection) {
  connection->idle_since = steady_clock::now();
  std::lock_guard lock(mutex_);
  auto& list = idle_[target.key()];
  list.push_back(std::move(connection));
  while (list.size() > config_.pool_max_idle_per_host) list.pop_front();
}

void upstream_pool::clear() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

}  // namespace regtrace::proxy
