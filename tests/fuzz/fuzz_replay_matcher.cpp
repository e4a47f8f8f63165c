// The server replay's matcher (capture/replay/matcher.cpp): recorded exchanges answer live requests
// by match key, in trace order. Properties, against a model kept here: next() answers only with an
// entry of the trace that has that key and an answer (or was abandoned), never an index out of
// range; each entry answers at most once until all with the key are used, in trace order; then the
// last one repeats, marked repeated; a key the trace does not hold gets no answer.

#include "capture/replay/matcher.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <map>
#include <set>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;

constexpr std::string_view methods[] = {"GET", "HEAD", "PUT"};
constexpr std::string_view hosts[] = {"registry.test", "Registry.Test", "other.test"};
constexpr std::uint16_t ports[] = {443, 80, 5443};
constexpr int statuses[] = {0, 200, 401, 404};

capture::exchange recorded_exchange(FuzzedDataProvider& in) {
  capture::exchange x;
  x.method = methods[in.ConsumeIntegralInRange<std::size_t>(0, std::size(methods) - 1)];
  x.scheme = in.ConsumeBool() ? "https" : "http";
  x.host = hosts[in.ConsumeIntegralInRange<std::size_t>(0, std::size(hosts) - 1)];
  x.port = ports[in.ConsumeIntegralInRange<std::size_t>(0, std::size(ports) - 1)];
  x.target = in.ConsumeRandomLengthString(64);
  if (in.ConsumeBool()) x.request_headers.push_back({"Range", in.ConsumeRandomLengthString(16)});
  x.status = statuses[in.ConsumeIntegralInRange<std::size_t>(0, std::size(statuses) - 1)];
  if (x.status == 0 && in.ConsumeBool())
    x.failure = capture::make_failure(capture::phase::response_relay, capture::errc::client_abandoned, "gone",
                                      capture::failing_peer::client);
  return x;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<capture::exchange> trace(in.ConsumeIntegralInRange(0, 12));
  for (auto& x : trace) x = recorded_exchange(in);

  // The model: per key, the trace positions that may answer, in order.
  std::map<std::string, std::vector<std::size_t>> answers;
  for (std::size_t i = 0; i < trace.size(); ++i)
    if (capture::replay::can_answer(trace[i])) answers[capture::replay::match_key(trace[i])].push_back(i);
  std::map<std::string, std::size_t> used;

  capture::replay::matcher matcher;
  for (std::size_t i = 0; i < trace.size(); ++i)
    require(matcher.add(trace[i], i) == capture::replay::can_answer(trace[i]), "add() takes what can answer");
  while (in.remaining_bytes() > 0) {
    std::string key;
    if (!trace.empty() && in.ConsumeBool())
      key = capture::replay::match_key(trace[in.ConsumeIntegralInRange<std::size_t>(0, trace.size() - 1)]);
    else
      key = in.ConsumeRandomLengthString(64);
    exact_bytes const live(key);
    auto const match = matcher.next(live.view());
    auto const expected = answers.find(key);
    if (expected == answers.end()) {
      require(!match, "a key the trace does not hold gets no answer");
      continue;
    }
    require(match.has_value(), "a key the trace holds is answered");
    require(match->index < trace.size(), "the answer's index is in the trace");
    require_equal(capture::replay::match_key(trace[match->index]), key, "the answer has the request's key");
    auto& n = used[key];
    auto const& positions = expected->second;
    if (n < positions.size()) {
      require(!match->repeated && match->index == positions[n], "entries answer once each, in trace order");
      ++n;
    } else {
      require(match->repeated && match->index == positions.back(), "once used up, the last entry repeats");
    }
  }
  return 0;
}
