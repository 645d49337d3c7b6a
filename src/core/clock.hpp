#pragma once
// The two clocks of HYPER-RT (DESIGN.md, "Time"): CLOCK_REALTIME nanoseconds for stamps
// that cross processes, a steady clock for durations and deadlines inside one process.

#include <chrono>
#include <cstdint>

namespace hyper {

using SteadyClock = std::chrono::steady_clock;

inline int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline double ns_to_ms(int64_t ns) { return static_cast<double>(ns) * 1e-6; }

inline std::chrono::nanoseconds seconds_to_ns(double s) {
  return std::chrono::nanoseconds(static_cast<int64_t>(s * 1e9));
}

}  // namespace hyper
