// The in-process OTLP receiver: synchronous Beast on loopback_listener's threads.
#include "tests/support/otlp_receiver.hpp"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>

namespace regtrace::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace wire = opentelemetry::proto::trace::v1;

struct otlp_receiver::state {
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::deque<answer> script;
  std::vector<request> requests;
  std::vector<wire::Span> spans;

  // Records one request and picks its answer.
  answer receive(http::request<http::string_body> const& in) {
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest decoded;
    request seen{.method = std::string(in.method_string()),
                 .target = std::string(in.target()),
                 .content_type = std::string(in[http::field::content_type]),
                 .decoded = decoded.ParseFromString(in.body()),
                 .spans = 0,
                 .answered = 0,
                 .at = std::chrono::steady_clock::now()};
    std::lock_guard lock(mutex);
    answer reply = script.empty() ? answer{} : script.front();
    if (!script.empty()) script.pop_front();
    for (auto const& resource : decoded.resource_spans())
      for (auto const& scope : resource.scope_spans()) {
        seen.spans += static_cast<std::size_t>(scope.spans_size());
        if (reply.status / 100 == 2)
          for (auto const& span : scope.spans()) spans.push_back(span);
      }
    seen.answered = reply.status;
    requests.push_back(seen);
    changed.notify_all();
    return reply;
  }
};

otlp_receiver::otlp_receiver(std::vector<answer> answers)
    : state_(std::make_shared<state>()), listener_([s = state_](boost::asio::ip::tcp::socket& socket) {
        beast::flat_buffer buffer;
        for (;;) {
          http::request<http::string_body> in;
          beast::error_code ec;
          http::read(socket, buffer, in, ec);
          if (ec) return;
          auto const reply = s->receive(in);
          http::response<http::string_body> out{static_cast<http::status>(reply.status), 11};
          out.set(http::field::content_type, "application/x-protobuf");
          if (!reply.retry_after.empty()) out.set(http::field::retry_after, reply.retry_after);
          out.keep_alive(in.keep_alive());
          out.prepare_payload();
          http::write(socket, out, ec);
          if (ec || !in.keep_alive()) return;
        }
      }) {
  state_->script.assign(answers.begin(), answers.end());
}

otlp_receiver::~otlp_receiver() = default;

std::vector<otlp_receiver::request> otlp_receiver::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::vector<wire::Span> otlp_receiver::spans() const {
  std::lock_guard lock(state_->mutex);
  return state_->spans;
}

bool otlp_receiver::wait_for_requests(std::size_t n) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, std::chrono::seconds(60),
                                  [&] { return state_->requests.size() >= n; });
}

}  // namespace regtrace::test
