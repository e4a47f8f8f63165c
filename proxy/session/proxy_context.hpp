#pragma once
// What every client connection shares: configuration, certificates, TLS contexts, the upstream pool
// and the trace sink. Built once at start-up; thread-safe as documented on each member.

#include "capture/body/body_store.hpp"
#include "capture/replay/replay_source.hpp"
#include "capture/trace/trace_sink.hpp"
#include "proxy/config/config.hpp"
#include "proxy/io/net.hpp"
#include "proxy/session/client_watch.hpp"
#include "proxy/session/server.hpp"
#include "proxy/upstream/pool.hpp"
#include "tls/cert_cache.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <memory>

namespace regtrace::proxy {

struct proxy_context {
  proxy_context(proxy_config config_in, std::shared_ptr<tls::cert_cache> certificates_in,
                net::ssl::context client_in, net::ssl::context upstream_in, capture::trace_sink* sink_in,
                std::shared_ptr<spdlog::logger> log_in)
      : config(std::move(config_in)),
        certificates(std::move(certificates_in)),
        client_tls(std::move(client_in)),
        upstream_tls(std::move(upstream_in)),
        sink(sink_in),
        log(std::move(log_in)) {}

  proxy_config config;                            ///< read-only after start-up
  std::shared_ptr<tls::cert_cache> certificates;  ///< thread-safe
  net::ssl::context client_tls;                   ///< client-facing; certificates set per connection
  net::ssl::context upstream_tls;                 ///< verification per --upstream-ca / --insecure-upstream
  std::vector<std::unique_ptr<upstream_pool>> pools;       ///< one per worker; set up before serving
  std::vector<std::unique_ptr<client_watch>> watches;      ///< one per worker, used on its thread only
  capture::trace_sink* sink = nullptr;                     ///< thread-safe submit()
  std::unique_ptr<capture::replay::replay_source> replay;  ///< server replay (--replay); thread-safe next()
  std::unique_ptr<capture::body_store> bodies;             ///< --store-bodies; thread-safe
  std::shared_ptr<spdlog::logger> log;                     ///< thread-safe
  /// server_hooks::on_progress, called from every worker; set before serving.
  std::function<void(capture::exchange const&, transfer_progress const&)> on_progress;
  std::atomic<std::uint64_t> next_connection_id{0};
  std::atomic<std::uint64_t> next_upstream_id{0};
  std::atomic<std::uint64_t> open_connections{0};  ///< stop() waits for them to write what they had
  std::atomic<std::uint64_t> idle_connections{0};  ///< of those, waiting for the next request head
  /// regtrace is stopping: what is cut short now is recorded as errc::proxy_stopped, not answered.
  std::atomic<bool> stopping{false};
};


}  // namespace regtrace::proxy
