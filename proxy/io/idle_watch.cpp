#include "proxy/io/idle_watch.hpp"

namespace regtrace::proxy {
namespace {

net::awaitable<void> watch(std::shared_ptr<idle_watch> state, std::chrono::seconds idle) {
  for (;;) {
    state->timer.expires_at(state->last_progress + idle);
    auto [ec] = co_await state->timer.async_wait(use_nothrow);
    if (state->done) co_return;
    if (ec == net::error::operation_aborted) continue;
    if (std::chrono::steady_clock::now() - state->last_progress >= idle) {
      state->fired = true;
      beast::error_code ignored;
      state->source->socket().cancel(ignored);
      state->sink->socket().cancel(ignored);
      co_return;
    }
  }
}

}  // namespace

std::shared_ptr<idle_watch> start_idle_watch(beast::tcp_stream& source, beast::tcp_stream& sink,
                                             std::chrono::seconds idle) {
  auto state = std::make_shared<idle_watch>(source.get_executor());
  state->source = &source;
  state->sink = &sink;
  source.expires_never();
  sink.expires_never();
  net::co_spawn(source.get_executor(), watch(state, idle), [](std::exception_ptr) {});
  return state;
}

void stop_idle_watch(idle_watch& watch) {
  watch.done = true;
  watch.timer.cancel();
}

}  // namespace regtrace::proxy
