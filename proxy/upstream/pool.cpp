#include "proxy/upstream/pool.hpp"

#include "proxy/io/timing.hpp"

#include <sys/socket.h>

#include <optional>

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
  arm_expiry();
}

void upstream_pool::arm_expiry() {
  if (expiry_armed_) return;
  // Each list is in give_back order: its front is its oldest connection.
  std::optional<steady_clock::time_point> oldest;
  for (auto const& [key, list] : idle_)
    if (!list.empty() && (!oldest || list.front()->idle_since < *oldest)) oldest = list.front()->idle_since;
  if (!oldest) return;
  expiry_armed_ = true;
  expiry_.expires_at(*oldest + config_.pool_idle_timeout);
  // Cancelled only by clear() and the destructor, which must not be touched back: return at once.
  expiry_.async_wait([this](beast::error_code ec) {
    if (!ec) expire();
  });
}

void upstream_pool::expire() {
  std::lock_guard lock(mutex_);
  expiry_armed_ = false;
  auto const now = steady_clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::erase_if(list, [&](auto const& c) {
      return now - c->idle_since >= config_.pool_idle_timeout || !still_open(*c);
    });
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
  arm_expiry();
}

void upstream_pool::clear() {
  std::lock_guard lock(mutex_);
  idle_.clear();
  expiry_.cancel();
  expiry_armed_ = false;
}

std::size_t upstream_pool::idle_count() {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (auto const& [key, list] : idle_) n += list.size();
  return n;
}

}  // namespace regtrace::proxy
