// Time for timers, timeouts and latency measurement.
//
// NowNs/NowUs/NowMs read CLOCK_MONOTONIC, which never jumps with wall-clock
// changes (NTP steps, manual resets), so deadlines computed from it hold; its
// epoch is arbitrary (usually boot), so never show these values to users as
// dates. The vDSO makes a read a few tens of nanoseconds without a syscall.
//
// Clock is the seam through which a shard reads time: the server runs on
// SystemClock, tests on ManualClock, which moves only when told to, so
// keepalive, debounce, TTL and timeout behaviour is tested without sleeping.
// A shard reads its clock once per loop round. Any thread.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

namespace ringcast::core {

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t NowUs() { return NowNs() / 1'000u; }

inline uint64_t NowMs() { return NowNs() / 1'000'000u; }

inline int64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds: timers and deadlines.
  virtual uint64_t MonotonicMs() const = 0;
  // Unix time in milliseconds: token expiry, history epochs.
  virtual int64_t UnixMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  uint64_t MonotonicMs() const override { return NowMs(); }
  int64_t UnixMs() const override { return WallMs(); }
  // The process-wide instance.
  static const SystemClock* Get() {
    static const SystemClock clock;
    return &clock;
  }
};

// Starts at the given times and moves only through Advance (from any
// thread: a test thread drives it while shard threads read it).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t monotonic_ms = 1'000'000, int64_t unix_ms = 1'800'000'000'000)
      : mono_ms_(monotonic_ms), unix_ms_(unix_ms) {}
  uint64_t MonotonicMs() const override { return mono_ms_.load(std::memory_order_acquire); }
  int64_t UnixMs() const override { return unix_ms_.load(std::memory_order_acquire); }
  void Advance(uint64_t ms) {
    mono_ms_.fetch_add(ms, std::memory_order_acq_rel);
    unix_ms_.fetch_add(static_cast<int64_t>(ms), std::memory_order_acq_rel);
  }

 private:
  std::atomic<uint64_t> mono_ms_;
  std::atomic<int64_t> unix_ms_;
};

}  // namespace ringcast::core
