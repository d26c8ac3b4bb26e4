// Monotonic time for timers, timeouts and latency measurement. CLOCK_MONOTONIC never jumps
// with wall-clock changes (NTP steps, manual resets), so deadlines computed from it hold; its
// epoch is arbitrary (usually boot), so never show these values to users as dates. The vDSO
// makes a read a few tens of nanoseconds without a syscall. Any thread.
#pragma once

#include <time.h>

#include <cstdint>

namespace ringcast::core {

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t NowUs() { return NowNs() / 1'000u; }

inline uint64_t NowMs() { return NowNs() / 1'000'000u; }

}  // namespace ringcast::core
