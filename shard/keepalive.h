// Keepalive: what to do with a connection that has been silent (not a byte,
// not even a pong) for some time, given keepalive.ping_interval_ms and
// keepalive.idle_timeout_ms (0 = off). Past the idle timeout it is closed
// (1000, "idle timeout"); past the ping interval it is pinged; either way
// the next check is due when the next ping or the idle timeout would be,
// counted from the last byte received. Pure: any thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace ringcast::shard {

struct KeepaliveStep {
  bool close = false;
  bool ping = false;
  std::optional<uint64_t> next_check_ms;  // delay until the next check; none when both are off
};

class Keepalive {
 public:
  Keepalive(uint32_t ping_interval_ms, uint32_t idle_timeout_ms)
      : ping_ms_(ping_interval_ms), idle_ms_(idle_timeout_ms) {}

  KeepaliveStep Check(uint64_t silent_ms) const {
    KeepaliveStep step;
    if (idle_ms_ > 0 && silent_ms >= idle_ms_) {
      step.close = true;
      return step;
    }
    step.ping = ping_ms_ > 0 && silent_ms >= ping_ms_;
    step.next_check_ms = NextCheck(silent_ms);
    return step;
  }

  // The next ping is due ping_interval_ms after the last byte, or one
  // interval after the ping just sent; the idle check when the timeout is.
  std::optional<uint64_t> NextCheck(uint64_t silent_ms) const {
    std::optional<uint64_t> delay;
    if (ping_ms_ > 0) delay = silent_ms < ping_ms_ ? ping_ms_ - silent_ms : ping_ms_;
    if (idle_ms_ > 0) {
      uint64_t left = std::max<uint64_t>(idle_ms_ > silent_ms ? idle_ms_ - silent_ms : 0, 1);
      delay = delay ? std::min(*delay, left) : left;
    }
    return delay;
  }

 private:
  uint32_t ping_ms_;
  uint32_t idle_ms_;
};

}  // namespace ringcast::shard
