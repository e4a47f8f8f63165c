#include "proxy/session/client_watch.hpp"

namespace regtrace::proxy {

net::awaitable<void> client_watch::run() {
  net::steady_timer timer(co_await net::this_coro::executor);
  timer_ = &timer;
  while (!stopping_) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(use_nothrow);
    if (!stopping_) check_clients();
  }
  timer_ = nullptr;
}

void client_watch::check_clients() {
  polled_.clear();
  polled_clients_.clear();
  for (auto& client : clients_) {
    if (!client.watch_for_close || client.closed_at) continue;
    polled_.push_back({client.stream.tcp().socket().native_handle(), POLLRDHUP, 0});
    polled_clients_.push_back(&client);
  }
  if (polled_.empty() || ::poll(polled_.data(), polled_.size(), 0) <= 0) return;
  auto const now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < polled_.size(); ++i) {
    // POLLRDHUP: the client shut its side (close() or shutdown(SHUT_WR)); as nginx does for
    // proxy_ignore_client_abort off, that ends the exchange: an HTTP client waiting for an answer never
    // half-closes. Data without it (a pipelined request, a close_notify alone) is not a close.
    if ((polled_[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0) continue;
    auto& client = *polled_clients_[i];
    client.closed_at = now;
    client.waiting_on.end();
  }
}

void client_watch::stop_all() {
  stopping_ = true;
  if (timer_) timer_->cancel();
  for (auto& client : clients_) {
    // Closed, not only cancelled: an operation started after this point fails at once as well.
    client.stream.tcp().close();
    client.waiting_on.end();
  }
}

}  // namespace regtrace::proxy
