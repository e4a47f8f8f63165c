#pragma once
// The clock of the HAR timings (SPEC §4): monotonic, in milliseconds.

#include <chrono>

namespace regtrace::proxy {

using steady_clock = std::chrono::steady_clock;

/// Milliseconds from `from` to `to`, as HAR timings are written.
inline double ms_between(steady_clock::time_point from, steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace regtrace::proxy
