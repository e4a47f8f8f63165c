#pragma once
// An in-process OTLP/HTTP trace receiver (issue 15): POST bodies decoded with the classes protoc
// generates from capture/export/proto, answered as the test scripts it (a status and a Retry-After
// per request, then 200). The independent decoder is the Node.js receiver of tests/e2e/test-otlp.sh.

#include "tests/support/loopback_listener.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace opentelemetry::proto::trace::v1 {
class Span;
}

namespace regtrace::test {

class otlp_receiver {
 public:
  /// One scripted answer.
  struct answer {
    int status = 200;
    std::string retry_after;  ///< Retry-After value; "" sends none
  };
  /// One request as received.
  struct request {
    std::string method, target, content_type;
    bool decoded = false;
    std::size_t spans = 0;
    int answered = 0;
    std::chrono::steady_clock::time_point at;
  };

  /// answers: for the first requests, in order; every later one gets 200.
  explicit otlp_receiver(std::vector<answer> answers = {});
  ~otlp_receiver();
  std::uint16_t port() const { return listener_.port(); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port()); }

  std::vector<request> requests() const;
  /// Copies of every span of the requests answered 2xx, in arrival order.
  std::vector<opentelemetry::proto::trace::v1::Span> spans() const;
  /// Waits until at least n requests have been answered; bounded only so that a broken exporter ends
  /// the test. Returns whether they came.
  bool wait_for_requests(std::size_t n) const;

  struct state;

 private:
  std::shared_ptr<state> state_;
  loopback_listener listener_;
};

}  // namespace regtrace::test
