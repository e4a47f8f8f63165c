#pragma once
// `--metrics HOST:PORT` (SPEC §9, issue 15): an HTTP/1.1 listener of its own that answers Prometheus's
// scrapes of /metrics with what capture::exchange_metrics counted. It reads counters the trace writer
// keeps; no relay ever waits on it. No Beast in this header.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}
namespace spdlog {
class logger;
}

namespace regtrace::proxy {

struct metrics_server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0 picks a free port (tests)
  /// A host other than a loopback address is refused without it (SPEC §8, as for --listen).
  bool allow_remote = false;
  std::chrono::seconds idle_timeout{60};  ///< re-armed before each read and write
  std::size_t header_limit_bytes = 8 * 1024;
};

/// The /metrics listener. create(), start() and stop() from the owner's thread; the accept loop and
/// the connections run on io, which must be run by one thread (they share a list of connections).
class metrics_server {
 public:
  /// Binds host:port. exposition() answers each scrape (on io's thread). Throws std::runtime_error
  /// with a sentence naming --metrics when the address is not loopback (without allow_remote), not an
  /// IP address, or taken.
  static std::unique_ptr<metrics_server> create(boost::asio::io_context& io, metrics_server_options options,
                                                std::function<std::string()> exposition,
                                                std::shared_ptr<spdlog::logger> log);
  ~metrics_server();

  /// The port actually bound.
  std::uint16_t port() const;
  /// Starts accepting (on io).
  void start();
  /// Closes the listener and every open connection (on io). Idempotent.
  void stop();

  struct impl;

 private:
  explicit metrics_server(std::shared_ptr<impl> state);
  std::shared_ptr<impl> impl_;
};

}  // namespace regtrace::proxy
